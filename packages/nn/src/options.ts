/**
 * `@tfjs-ddp/nn/options`: the model and batch-norm choices a command line offers (zoo
 * model names, BN placements, BN modes and their parser), without loading tfjs. The CLI's
 * flags import this subpath so that commands that never train (the coordinator) do not
 * load tfjs; nothing imported here may import tfjs.
 */
export { ZOO_MODEL_NAMES } from './zoo/zoo-names.js';
export type { ZooModelName } from './zoo/zoo-names.js';
export { BN_PLACEMENTS } from './zoo/options.js';
export type { BnPlacement } from './zoo/options.js';
export { BN_MODE_HELP, parseBnMode } from './sync-bn/bn-mode.js';
export type { BnMode } from './sync-bn/bn-mode.js';
