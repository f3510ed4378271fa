import * as tf from '@tensorflow/tfjs';

// The rank threads' packages register tfjs's wasm backend, which then has the highest
// priority in this thread too but initializes asynchronously: without this wait, the
// user's first tf call after importing tfjs-ddp would throw "backend 'wasm' has not yet
// been initialized".
await tf.ready();

export { fit, fitDataset } from './fit.js';
export type { FitOptions, History, TrainingRuleOptions } from './fit.js';
export type { BatchSource, DataBatch, InputData, LabelData } from './fit-data.js';
export type { FitCallbacks, Logs, OptimizerOption } from './fit-settings.js';
export { FitError } from './errors.js';
export type { FitErrorCode } from './errors.js';
