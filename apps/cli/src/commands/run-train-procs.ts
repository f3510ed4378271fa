import { randomBytes } from 'node:crypto';
import { Coordinator } from '@tfjs-ddp/coordinator';
import { heldOutOf } from '@tfjs-ddp/data';
// The launcher's module alone: a process that only launches ranks (and runs a coordinator, DESIGN.md 2) loads no tfjs.
import { RankProcesses } from '@tfjs-ddp/worker/rank-processes';
import { jobConfigFrom } from '../job-flags.js';
import { createLogger } from '../logger.js';
import { createProgressView, progressHooks } from '../progress-view.js';
import { rankProcessCommand, trainRankEnv } from '../rank-process-command.js';
import type { TrainFlags } from './train.js';

/** Rank processes get this long to start node, load tfjs and join; their backend, data and model load under the coordinator's own deadline. */
const JOIN_TIMEOUT_MS = 120_000;
/** After the job has ended, how long the rank processes get to exit by themselves. */
const EXIT_TIMEOUT_MS = 30_000;

/**
 * `tfjs-ddp train --procs N`: the distributed path on one machine. A coordinator in this
 * process, on a loopback port with a token made for this run, and N `tfjs-ddp worker`
 * processes of one rank thread each, process i pinned to device i; the ranks form their
 * ring over loopback TCP, the same code as across machines. The run folder (model,
 * metrics.jsonl, checkpoints/, --resume) is the coordinator's, which is the layout `train`
 * writes with threads. A rank process that exits fails the run (its exit named), and no
 * rank process outlives it: they are stopped on every way out, and each one exits by
 * itself when this process dies (run-worker.ts watches the IPC channel).
 */
export async function runTrainProcs(flags: TrainFlags, procs: number): Promise<void> {
  const logger = createLogger('train', flags.logLevel);
  const config = jobConfigFrom(flags);
  const what = `training ${config.model} on ${config.dataset} with ${procs} rank process(es), batch norm ${flags.bn}`;
  logger.info({ config, procs, bn: flags.bn }, what);
  const view = createProgressView(logger, { tty: flags.progress && Boolean(process.stderr.isTTY) });
  const token = randomBytes(32).toString('base64url');
  const jobId = `train-${randomBytes(6).toString('hex')}`;
  const coordinator = await Coordinator.start({
    host: '127.0.0.1',
    port: 0,
    token,
    jobId,
    workers: procs,
    // No shrinking: training on fewer ranks than asked for is not what this command was told to do.
    minWorkers: procs,
    config,
    bnMode: flags.bn,
    outDir: flags.out,
    checkReplicasEvery: flags.checkReplicas,
    checkpointEvery: flags.checkpointEvery,
    keepCheckpoints: flags.keepCheckpoints,
    resume: flags.resume,
    resumeFallback: flags.resumeFallback,
    waitTimeoutMs: JOIN_TIMEOUT_MS,
    log: logger,
    hooks: progressHooks(logger, view),
  });
  logger.info({ port: coordinator.port }, `status of the rank processes at http://127.0.0.1:${coordinator.port}/status`);
  const args = ['--coordinator', `ws://127.0.0.1:${coordinator.port}`, '--job-id', jobId, '--threads', '1', '--backend', flags.backend];
  args.push('--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--peer-port', '0', '--log-level', flags.logLevel, '--no-progress');
  // The rank processes may build and read only what this command line names: the same model and data.
  args.push('--model', config.model, '--dataset', config.dataset, ...(flags.allowCpu ? ['--allow-cpu'] : []));
  let ranks: RankProcesses | undefined;
  let result: Awaited<ReturnType<Coordinator['run']>>;
  try {
    ranks = new RankProcesses({ command: rankProcessCommand(args), count: procs, env: trainRankEnv(token), log: logger });
    const running = coordinator.run();
    // Closing the coordinator after a rank process died makes run() reject too; the process's exit is the cause to report.
    running.catch(() => undefined);
    result = await Promise.race([running, ranks.failed]);
    await ranks.waitForExit(EXIT_TIMEOUT_MS);
  } finally {
    view.stop();
    await ranks?.close();
    await coordinator.close();
  }
  const { elapsedSec, samples, steps, test } = result;
  logger.info(
    { testAccuracy: test.accuracy, testLoss: test.loss, steps, samples, elapsedSec, samplesPerSec: samples / elapsedSec, model: result.modelPath },
    `done in ${elapsedSec.toFixed(1)} s: test accuracy ${(test.accuracy * 100).toFixed(2)} % on ${test.count} held-out samples ` +
      `(${heldOutOf(flags.dataset)}); model saved to ${result.modelPath}`,
  );
}
