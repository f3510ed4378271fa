// The launcher's module alone: a process that only launches ranks (and runs a coordinator, DESIGN.md 2) loads no tfjs.
import { RankProcesses } from '@tfjs-ddp/worker/rank-processes';
import { readToken, TOKEN_ENV } from '../job-token.js';
import { createLogger } from '../logger.js';
import { rankProcessCommand, withoutOptions } from '../rank-process-command.js';
import type { WorkerFlags } from './worker.js';

/** The options only the launcher has; every other flag reaches the rank processes as the user wrote it. */
const LAUNCHER_OPTIONS = ['--procs', '--threads', '--peer-port'];
const LAUNCHER_ENV = ['TFJS_DDP_PROCS', 'TFJS_DDP_THREADS', 'TFJS_DDP_PEER_PORT'];

/**
 * `tfjs-ddp worker --procs N`: N worker processes of one rank thread each, process i
 * pinned to device i, each joining the coordinator as a worker of its own (the
 * coordinator places workers of one host next to each other in the ring, so their
 * links stay on loopback). This process only launches and watches them: when one
 * fails, the others are stopped and this command fails naming it (exit 1); SIGTERM is
 * passed on to each (they leave the job cleanly) and this exits 143.
 */
export async function runWorkerProcs(flags: WorkerFlags, procs: number): Promise<void> {
  const logger = createLogger('worker', flags.logLevel);
  // Read once here, so a missing token fails before any process starts; they read it the same way.
  readToken({ file: flags.tokenFile, value: process.env[TOKEN_ENV] });
  const shared = withoutOptions(process.argv.slice(process.argv.indexOf('worker') + 1), LAUNCHER_OPTIONS);
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !LAUNCHER_ENV.includes(name)));
  const ranks = new RankProcesses({
    command: (i) => rankProcessCommand([...shared, '--threads', '1', '--peer-port', String(flags.peerPort === 0 ? 0 : flags.peerPort + i)]),
    count: procs,
    env,
    log: logger,
  });
  let signalled: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled !== undefined) process.exit(signalled);
    signalled = signal === 'SIGTERM' ? 143 : 130;
    logger.warn({ signal }, `${signal}: passing it on to the rank processes`);
    void ranks.close();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await Promise.race([ranks.allExited, ranks.failed]);
    if (signalled !== undefined) {
      logger.warn('the rank processes left the job');
      process.exitCode = signalled;
      return;
    }
    // All have exited: this only names one that did not exit 0.
    await ranks.waitForExit(1_000);
  } finally {
    await ranks.close();
  }
  logger.info({ procs }, `all ${procs} rank processes are done`);
}
