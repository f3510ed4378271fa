export { CollectiveError, COLLECTIVE_ERROR_CODES } from './errors.js';
export type { CollectiveErrorCode } from './errors.js';
export { REDUCE_OPS } from './reduce-op.js';
export { allocReduceBuffer } from './reduce-engine.js';
export type { ReduceOp } from './reduce-op.js';
export type { Communicator, AsyncCommunicator } from './communicator.js';
export { ProcessGroup } from './process-group.js';
export { ProcessGroupListener, connectProcessGroup } from './process-group-listener.js';
/** Length of the tag every frame of an established peer link carries (test proxies split frames by it). */
export { FRAME_TAG_BYTES } from './frame-mac.js';
export type { PeerAddress, ProcessGroupOptions } from './process-group.js';
export type { RankLayout } from './rank-layout.js';
export { DEFAULT_ALGORITHM_OPTIONS } from './schedule-collectives.js';
export type { AlgorithmOptions, AllReduceAlgorithm } from './schedule-collectives.js';
export { createThreadGroup } from './thread-group.js';
export type { ThreadGroup, ThreadGroupOptions } from './thread-group.js';
export type { ThreadGroupHandle } from './thread-group-handle.js';
export { joinThreadGroup } from './thread-communicator.js';
export type { ThreadCommunicator } from './thread-communicator.js';
