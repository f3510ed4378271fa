import { appendFileSync } from 'node:fs';
import { Module, register } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * `node --import <this file>`: records every module the process (and each of its worker
 * threads, which inherit the flag) loads into the file named by TFJS_DDP_MODULE_LOG, one
 * JSON line `{ url, parent }` per module. ESM imports are seen by the hooks of
 * module-log-hooks.ts; `require()` inside CommonJS modules bypasses those hooks on Node
 * 20, so require is wrapped here too. Tests read the file with readModuleLog.
 */
export const MODULE_LOG_ENV = 'TFJS_DDP_MODULE_LOG';

const logFile = process.env[MODULE_LOG_ENV];
if (logFile !== undefined && logFile !== '') {
  register('./module-log-hooks.js', import.meta.url, { data: { logFile } });
  interface RequireHost {
    filename: string;
  }
  const internals = Module as unknown as { _resolveFilename(request: string, parent: RequireHost): string };
  const proto = Module.prototype as unknown as { require(this: RequireHost, id: string): unknown };
  const original = proto.require;
  proto.require = function (this: RequireHost, id: string): unknown {
    const exported = original.call(this, id);
    const resolved = internals._resolveFilename(id, this);
    if (resolved.startsWith('/')) {
      appendFileSync(logFile, `${JSON.stringify({ url: pathToFileURL(resolved).href, parent: pathToFileURL(this.filename).href })}\n`);
    }
    return exported;
  };
}
