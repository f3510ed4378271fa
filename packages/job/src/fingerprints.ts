import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * A hash of a model definition, the same on the coordinator and on every worker when
 * they build the same model: for a file (a module exporting createModel, or a model
 * folder or model.json) its bytes, for a zoo model its name; with the options that
 * change the model. A worker whose own hash differs refuses to train.
 */
export function modelDefinitionHash(spec: string, options: { bnPlacement?: string; dropout?: number } = {}): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ bnPlacement: options.bnPlacement ?? null, dropout: options.dropout ?? null }));
  const file = path.resolve(spec);
  if (existsSync(file)) {
    const files = statSync(file).isDirectory() ? [path.join(file, 'model.json'), path.join(file, 'weights.bin')] : [file];
    if (file.endsWith('.json')) files.push(path.join(path.dirname(file), 'weights.bin'));
    for (const f of files) {
      hash.update(path.basename(f));
      hash.update(existsSync(f) ? readFileSync(f) : 'missing');
    }
  } else {
    hash.update(`zoo:${spec}`);
  }
  return hash.digest('hex');
}
