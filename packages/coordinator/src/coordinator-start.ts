import type { Server } from 'node:http';
import { openDataset, type DatasetPair } from '@tfjs-ddp/data';
import { SILENT_LOG, type JobConfig } from '@tfjs-ddp/protocol';
import { modelDefinitionHash, scheduleOf, withRunLength } from '@tfjs-ddp/job';
import type { StoredCheckpoint } from './checkpoint/checkpoint-types.js';
import { findResumePoint } from './checkpoint/job-checkpoints.js';
import type { CoordinatorOptions } from './coordinator-options.js';
import { CoordinatorError } from './errors.js';
import { createHttpServer, listen, type HttpRoutes, type RouteHandler } from './http-server.js';

/** What a job needs before it listens: the data set, the model's fingerprint, the checkpoint it resumes. */
export interface PreparedJob {
  /** The job's config with what it depends on the data set for filled in (a cosine schedule's horizon). */
  config: JobConfig;
  data: DatasetPair;
  modelHash: string;
  resumeFrom: StoredCheckpoint | undefined;
}

/** The coordinator's HTTP port, listening. */
export interface Listening {
  server: Server;
  /** Extra routes (the dashboard, /metrics), served as they are added. */
  routes: Map<string, RouteHandler>;
  port: number;
}

/**
 * Checks the worker counts, finds the checkpoint to resume (one that cannot be resumed is
 * refused before anything listens), loads the data set (for sampling, fingerprints and,
 * if asked, streaming) and fingerprints the model.
 */
export async function prepareJob(options: CoordinatorOptions): Promise<PreparedJob> {
  if (!Number.isInteger(options.workers) || options.workers < 1) {
    throw new CoordinatorError('COORD_ERR_BAD_OPTION', `workers must be a positive integer, got ${options.workers}`);
  }
  const minWorkers = options.minWorkers ?? 1;
  if (!Number.isInteger(minWorkers) || minWorkers < 1 || minWorkers > options.workers) {
    throw new CoordinatorError('COORD_ERR_BAD_OPTION', `min-workers must be an integer in 1..${options.workers} (the workers), got ${minWorkers}`);
  }
  const log = options.log ?? SILENT_LOG;
  const data = openDataset(options.config.dataset, options.config.seed);
  // Hashed now, before any worker connects: a data set streamed from disk is read whole for it
  // (seconds per GiB), which at ring formation would stall the event loop the workers' links need.
  data.train.fingerprint();
  // Workers may hold no copy of the data: they get a cosine schedule's horizon in the config,
  // and checkpoints store it, so resuming with other epochs (another horizon) is refused.
  const config = withRunLength(options.config, scheduleOf(options.config, data.train.size).totalSteps);
  const resumeFrom = options.resume === undefined ? undefined : await findResumePoint(options.resume, config, options.resumeFallback ?? false, log);
  const modelHash = modelDefinitionHash(config.model, config);
  return { config, data, modelHash, resumeFrom };
}

/** Starts the HTTP server (TLS if given) on the job's port; `/status` and `/readyz` answer through `probes`. */
export async function listenForJob(options: CoordinatorOptions, probes: Pick<HttpRoutes, 'status' | 'readiness'>): Promise<Listening> {
  const routes = new Map<string, RouteHandler>();
  const server = createHttpServer({ status: probes.status, readiness: probes.readiness, extra: routes }, options.tls);
  const port = await listen(server, options.port ?? 7070, options.host ?? '0.0.0.0');
  return { server, routes, port };
}
