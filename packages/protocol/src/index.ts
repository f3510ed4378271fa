export { ProtocolError, protocolError, isProtocolError } from './errors.js';
export type { ProtocolErrorCode } from './errors.js';
export { DEFAULT_FRAME_LIMITS, MAX_STRING_LENGTH } from './limits.js';
export type { FrameLimits } from './limits.js';
export { DTYPES, BYTES_PER_ELEMENT, isDtype, dtypeOf, bytesOf, viewPayload } from './dtypes.js';
export type { Dtype, TypedPayload } from './dtypes.js';
export { PROTOCOL_VERSION, NONCE_BYTES, PROOF_BYTES, PAYLOAD_TYPES } from './messages.js';
export type {
  Message,
  MessageType,
  MessageOf,
  HelloMessage,
  AuthMessage,
  ReadyMessage,
  DataMessage,
  AbortMessage,
  ByeMessage
} from './messages.js';
export { validateMessage } from './validate.js';
export { previewValue } from './preview.js';
export { scanMsgpack, DEFAULT_SCAN_LIMITS } from './msgpack-scan.js';
export type { ScanLimits } from './msgpack-scan.js';
export { FRAME_PREFIX_BYTES, encodeFrame, encodeFrameBytes, decodeHeader, decodeFrameBytes } from './frame.js';
export type { EncodedFrame } from './frame.js';
export { FrameDecoder } from './frame-decoder.js';
export type { FrameAuthenticator, FrameSink, PayloadConsumer } from './frame-decoder.js';
export {
  BN_RECALIBRATE_MODES, DEFAULT_BN_RECALIBRATE_SAMPLES, DEFAULT_LOSS, DEFAULT_LR_STEP_FACTOR, LOSS_NAMES, LR_SCHEDULE_NAMES, OPTIMIZER_NAMES,
} from './job-config.js';
export type { BnRecalibrateMode, JobConfig, LossName, LrScheduleName, OptimizerConfig, OptimizerName } from './job-config.js';
export { TRAINING_RULE_KEYS } from './validate-training.js';
export { COMPRESSIONS, DATA_SOURCES, JOB_PAYLOAD_TYPES } from './job-messages.js';
export type {
  JobMessage,
  JobMessageType,
  JoinMessage,
  RefuseMessage,
  AssignMessage,
  PeerEntry,
  RingPlace,
  Compression,
  DataSource,
  TestSetMessage,
  WorkerReadyMessage,
  StepMessage,
  EvaluateMessage,
  HaltMessage,
  HaltedMessage,
  RegroupMessage,
  StateMessage,
  CheckpointRequestMessage,
  CheckpointDataMessage,
  RankStepReport,
  RankStepDone,
  StepDoneMessage,
  StepNetworkReport,
  EvaluatedMessage,
  FinishMessage,
  ModelMessage,
  FinishedMessage,
  FailMessage
} from './job-messages.js';
export { validateJobConfig, MAX_THREADS_PER_WORKER, MAX_WORKERS, MAX_REPORTED_MS, MIN_REPORTED_MS, reportedMs } from './validate-job.js';
export { MAX_STEP_NETWORK_BYTES } from './validate-job.js';
export { sampleDigest, combineDigests, mixIndex, DIGEST_MODULUS } from './sample-digest.js';
export {
  expectPayloadBytes,
  sampleSizeOf,
  joinShards,
  stepPayloadBytes,
  encodeStepPayload,
  decodeStepPayload,
  testSetPayloadBytes,
  encodeTestSetPayload,
  decodeTestSetPayload,
  checkStatePayloadBytes,
  encodeStatePayload,
  decodeStatePayload,
  checkpointStateBytes,
  encodeCheckpointPayload,
  decodeCheckpointPayload,
  encodeModelPayload,
  decodeModelPayload
} from './payloads.js';
export type { PayloadSamples, StepShard, ModelFiles, CheckpointFiles } from './payloads.js';
export { JobSocket } from './job-socket.js';
export type { JobSocketHandlers, Outgoing } from './job-socket.js';
export { SILENT_LOG } from './log.js';
export type { StructuredLog } from './log.js';
