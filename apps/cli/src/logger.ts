import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * One logger per component, named: JSON lines when stderr is not a terminal (for log
 * collectors and Kubernetes), human-readable on a terminal. Logs go to stderr so that
 * stdout stays free for results (bench JSON, status).
 */
export function createLogger(name: string, level: LevelWithSilent = 'info', bindings: Record<string, unknown> = {}): Logger {
  const options = { name, level, base: { pid: process.pid, ...bindings } };
  if (process.stderr.isTTY) {
    return pino(options, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }));
  }
  return pino(options, pino.destination({ dest: 2, sync: true }));
}
