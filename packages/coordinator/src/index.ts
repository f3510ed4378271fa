export { assignRanks, worldSize } from './rank-assignment.js';
export type { AssignedWorker, WorkerSlot } from './rank-assignment.js';
export { ShardBalancer, BALANCE_MODES } from './shard-balancer.js';
export type { BalanceMode, ShardBalancerOptions } from './shard-balancer.js';
export { tokenMatches, newSecret, readToken } from './secrets.js';
export { createHttpServer } from './http-server.js';
export type { HttpRoutes } from './http-server.js';
export type { JobStatus, JobState, WorkerStatus } from './status.js';
