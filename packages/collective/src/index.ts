export { CollectiveError, COLLECTIVE_ERROR_CODES } from './errors.js';
export type { CollectiveErrorCode } from './errors.js';
export { REDUCE_OPS } from './reduce/reduce-op.js';
export { allocReduceBuffer } from './reduce/reduce-engine.js';
export type { ReduceOp } from './reduce/reduce-op.js';
export type { AllReduceOptions, Communicator, AsyncCommunicator } from './communicator.js';
export { ProcessGroup } from './processes/process-group.js';
export { ProcessGroupListener, connectProcessGroup } from './processes/process-group-listener.js';
/** Length of the tag every frame of an established peer link carries (test proxies split frames by it). */
export { FRAME_TAG_BYTES } from './transport/frame-mac.js';
export type { PeerAddress, ProcessGroupOptions } from './processes/process-group.js';
export type { RankLayout } from './rank-layout.js';
export { DEFAULT_ALGORITHM_OPTIONS } from './processes/schedule-collectives.js';
export type { AlgorithmOptions, AllReduceAlgorithm } from './processes/schedule-collectives.js';
export { createThreadGroup } from './threads/thread-group.js';
export type { ThreadGroup, ThreadGroupOptions } from './threads/thread-group.js';
export type { ThreadGroupHandle } from './threads/thread-group-handle.js';
export { joinThreadGroup } from './threads/thread-communicator.js';
export type { ThreadCommunicator } from './threads/thread-communicator.js';
