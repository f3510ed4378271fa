import { appendFileSync } from 'node:fs';

/**
 * Module hooks (registered by module-log.ts) that append every module an ESM import
 * resolves to a file, one JSON line `{ url, parent }` each, as it happens: a process
 * that is killed leaves its list behind. Node 20 runs these hooks on a thread of their own.
 */
let logFile = '';

export function initialize(data: { logFile: string }): void {
  logFile = data.logFile;
}

interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<{ url: string }> {
  const result = await nextResolve(specifier, context);
  if (!result.url.startsWith('node:')) appendFileSync(logFile, `${JSON.stringify({ url: result.url, parent: context.parentURL ?? null })}\n`);
  return result;
}
