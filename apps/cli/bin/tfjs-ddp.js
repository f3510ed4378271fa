#!/usr/bin/env node
// The `tfjs-ddp` command of a clone. It is committed (dist/ is not) so that `npm ci` finds
// the bin's target and links node_modules/.bin/tfjs-ddp on a fresh clone, before any build;
// `npx --no-install tfjs-ddp` then runs this file and never asks the registry for a
// package of that name. The CLI itself is the compiled dist/main.js.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(`tfjs-ddp: ${fileURLToPath(main)} is not built yet: run \`npm run build\` in the repository first\n`);
  process.exit(1);
}
await import(main.href);
