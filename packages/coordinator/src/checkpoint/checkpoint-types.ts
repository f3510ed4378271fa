import { MODEL_JSON, WEIGHTS_BIN } from '@tfjs-ddp/job';
import type { JobConfig } from '@tfjs-ddp/protocol';

/** Bumped when the folder's layout or checkpoint.json's meaning changes; older readers refuse newer folders. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** Under the run folder. */
export const CHECKPOINTS_DIR = 'checkpoints';
export { MODEL_JSON, WEIGHTS_BIN };
/** The replica's full training state as raw little-endian float32. */
export const STATE_BIN = 'state.bin';
/** Everything that is not bytes: step, sampler, config, sizes, format version. */
export const CHECKPOINT_JSON = 'checkpoint.json';
/** sha256 of every other file, in `sha256sum` format; written last, checked first. */
export const CHECKSUM_FILE = 'SHA256SUMS';
/** The files the checksum file must list, no more, no fewer. */
export const CHECKSUMMED_FILES = [MODEL_JSON, WEIGHTS_BIN, STATE_BIN, CHECKPOINT_JSON] as const;

/** Where the data order stands, enough for the sampler to continue with the next batch. */
export interface SamplerState {
  seed: number;
  epoch: number;
  /** Steps of `epoch` already taken: the next step's index within the epoch. */
  position: number;
}

/** One float32 variable of the state vector: a model weight or an optimizer slot. */
export interface StateEntry {
  name: string;
  shape: readonly number[];
}

/**
 * The order of the variables packed into `state`. Only their sizes are checked here; the
 * names are for the worker that unpacks it and for a human reading checkpoint.json.
 */
export type StateLayout = readonly StateEntry[];

/** What the coordinator hands writeCheckpoint. */
export interface Checkpoint {
  /** Steps committed so far: training resumes with step number `step`. */
  step: number;
  /** The epoch the next step belongs to. */
  epoch: number;
  config: JobConfig;
  sampler: SamplerState;
  /** model.json of a plain tfjs layers model (BN converted back), naming `./weights.bin`. */
  modelJson: string;
  /** weights.bin of that model. */
  weights: Uint8Array;
  /** All model weights then the optimizer's variables, as the replica packs them; opaque here. */
  state: Float32Array;
  /** When given, the sum of its sizes must equal state.length. */
  stateLayout?: StateLayout;
  /** Any JSON data the caller wants back on resume (e.g. the balancer's speeds). */
  meta?: Record<string, unknown>;
}

/** A checkpoint read back and verified. */
export interface StoredCheckpoint extends Checkpoint {
  /** The checkpoint folder it was read from. */
  dir: string;
  /** ISO time of the write. */
  createdAt: string;
  formatVersion: number;
}

/** checkpoint.json, as written. */
export interface CheckpointInfo {
  formatVersion: number;
  createdAt: string;
  step: number;
  epoch: number;
  sampler: SamplerState;
  config: JobConfig;
  /** Byte sizes of the other files, so a mismatch is named even where the checksums agree. */
  files: { [MODEL_JSON]: number; [WEIGHTS_BIN]: number; [STATE_BIN]: number };
  /** Float32 elements in state.bin. */
  stateLength: number;
  stateLayout?: StateLayout;
  meta?: Record<string, unknown>;
}
