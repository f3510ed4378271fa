import path from 'node:path';
import { isBundledDataset } from '@tfjs-ddp/data';
import { modelDefinitionHash } from '@tfjs-ddp/job';
import { isZooModelName, ZOO_MODEL_NAMES } from '@tfjs-ddp/nn';
import type { AssignMessage, JobConfig } from '@tfjs-ddp/protocol';
import { WorkerError } from './errors.js';

/**
 * What the worker was given on its own command line. A model module is code and a model
 * or data file is a read of this machine's disk: both come only from here, never from a
 * path the coordinator names (a fake coordinator on a plain ws:// link could otherwise
 * make a worker import any .js file it has).
 */
export interface OwnSources {
  /** --model: a zoo name, a model module or a model.json (folder). */
  model?: string;
  /** --dataset: mnist, synthetic, npy:…, csv:… or images:… */
  dataset?: string;
}

export interface TrustedJob {
  /** The job config the rank threads build from: the model and data set are this worker's own. */
  config: JobConfig;
  /**
   * The data set to open, when this worker reads its own copy (data source `local`); its
   * fingerprint must then equal the coordinator's (the caller loads it off the main thread).
   */
  localDataset: string | undefined;
}

/**
 * Resolves an assignment's model and data set against what this worker was given
 * itself, before anything is imported or read: a zoo model or bundled data set is used
 * as named; a file only if it is the worker's own --model / --dataset, whose model hash
 * must then equal the coordinator's (the data fingerprint is checked once the data set is
 * loaded). Throws WORKER_ERR_UNTRUSTED_MODEL / _DATA or _MODEL_MISMATCH.
 */
export function trustedJob(assign: AssignMessage, own: OwnSources): TrustedJob {
  const named = assign.config;
  const model = trustedModel(named.model, own.model);
  // Hashed from the worker's own file (its bytes and name), never from the path named.
  const ownHash = modelDefinitionHash(model, named);
  if (ownHash !== assign.modelHash) {
    throw new WorkerError(
      'WORKER_ERR_MODEL_MISMATCH',
      `the model "${model}" here is not the coordinator's "${named.model}" ` +
        `(model definition hash ${ownHash.slice(0, 12)} vs ${assign.modelHash.slice(0, 12)}): give every worker the same model file`,
    );
  }
  if (assign.dataSource !== 'local') {
    // Streamed samples: this worker reads no data; the ranks never open the name below.
    return { config: { ...named, model, dataset: own.dataset ?? (isBundledDataset(named.dataset) ? named.dataset : 'streamed') }, localDataset: undefined };
  }
  const dataset = trustedDataset(named.dataset, own.dataset);
  return { config: { ...named, model, dataset }, localDataset: dataset };
}

function trustedModel(named: string, own: string | undefined): string {
  if (own !== undefined) return isZooModelName(own) ? own : path.resolve(own);
  if (isZooModelName(named)) return named;
  throw new WorkerError(
    'WORKER_ERR_UNTRUSTED_MODEL',
    `the coordinator names the model file "${named.slice(0, 300)}", and a worker runs model code only from its own command line: ` +
      `start this worker with --model <its copy of that file> (zoo models ${ZOO_MODEL_NAMES.join(', ')} need no flag)`,
  );
}

function trustedDataset(named: string, own: string | undefined): string {
  if (own !== undefined) return own;
  if (isBundledDataset(named)) return named;
  throw new WorkerError(
    'WORKER_ERR_UNTRUSTED_DATA',
    `the coordinator names the data set "${named.slice(0, 300)}", and a worker reads data files only from its own command line: ` +
      'start this worker with --dataset <its copy of those files> (mnist and synthetic need no flag; with --data-source coordinator no data is read)',
  );
}
