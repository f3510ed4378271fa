import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The preload that records a process's modules (`node --import` it; see module-log.ts). */
export const MODULE_LOG_PRELOAD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'module-log.js');
export { MODULE_LOG_ENV } from './module-log.js';

export interface LoadedModule {
  readonly url: string;
  readonly parent: string | null;
}

/** The modules a process recorded (every thread of it), in load order. */
export function readModuleLog(file: string): LoadedModule[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LoadedModule);
}

/** Shortens a file URL to its path under the repository or node_modules, for messages. */
function short(url: string): string {
  const at = url.lastIndexOf('/node_modules/');
  if (at >= 0) return url.slice(at + '/node_modules/'.length);
  const repo = url.search(/\/(packages|apps|test|bench)\//);
  return repo >= 0 ? url.slice(repo + 1) : url;
}

/**
 * How `url` came to be loaded: the chain of importers from it back to the entry point,
 * e.g. "prom-client <- packages/coordinator/dist/index.js <- ... <- apps/cli/dist/main.js".
 */
export function importChain(modules: readonly LoadedModule[], url: string): string {
  const parentOf = new Map<string, string | null>();
  for (const m of modules) if (!parentOf.has(m.url)) parentOf.set(m.url, m.parent);
  const chain = [url];
  for (let at = parentOf.get(url); at !== undefined && at !== null && !chain.includes(at); at = parentOf.get(at)) chain.push(at);
  return chain.map(short).join(' <- ');
}
