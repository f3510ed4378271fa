export { Replica } from './replica.js';
export type { ReplicaOptions, Shard, ShardGradients } from './replica.js';
export { createOptimizer, createTfjsOptimizer, isOptimizerName, learningRateOf, OPTIMIZER_NAMES, DEFAULT_LEARNING_RATE } from './optimizers.js';
export { clipScale, rateAt, trainingRulesOf } from './training-rules.js';
export type { TrainingRules } from './training-rules.js';
export type { OptimizerName, OptimizerSpec, TrainingOptimizer } from './optimizers.js';
export { readAllWeights, writeAllWeights, allWeightsSize, totalSize, readVariables, writeVariables } from './flat-weights.js';
export { DistributedReplica, SNAPSHOTS_KEPT, bnGroupOf } from './distributed/distributed-replica.js';
export type { DistributedReplicaOptions, DistributedStep, FinishedReplica, FinishPlan, ReplicaPlace } from './distributed/distributed-replica.js';
export type { ReplicaCommunicator } from './distributed/replica-communicator.js';
export { TimedBatchNormGroup } from './distributed/timed-group.js';
export { divergentRanks, weightsChecksum } from './distributed/weights-checksum.js';
export { folderIO, saveModel, loadModelBytes, loadModelFolder, modelArtifacts } from './model-files.js';
export type { ModelArtifactsBytes } from './model-files.js';
export { loadModel } from './model-source.js';
export type { CreateModelContext } from './model-source.js';
export { evaluate } from './evaluate.js';
export { checkOutputFitsLoss } from './losses.js';
export type { Evaluation } from './evaluate.js';
export { DEFAULT_TRAIN_CONFIG } from './train-config.js';
export type { TrainConfig } from './train-config.js';
export { trainSingleReplica, buildModel } from './single-replica.js';
export type { TrainHooks, TrainResult } from './single-replica.js';
export { TrainerError } from './errors.js';
export type { TrainerErrorCode } from './errors.js';
export {
  bnRecalibrateMode,
  bnRecalibrationOf,
  describeBnRecalibration,
  recalibrateModelBatchNorm,
  recalibrateModelBatchNormAsync,
  recalibratesAt,
  recalibrationIndices,
  RECALIBRATION_CHUNK,
} from './bn-recalibration.js';
export type { BnRecalibration, RecalibrationPoint } from './bn-recalibration.js';
export { asyncOnlyBackendRefusal } from './distributed/async-only-backend.js';
