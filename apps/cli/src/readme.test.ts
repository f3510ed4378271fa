import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { environmentVariables } from './program.js';

const readme = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../README.md'), 'utf8');

test('the README lists every environment variable each command reads', () => {
  const table = readme.slice(readme.indexOf('### Environment variables'));
  for (const [command, variables] of environmentVariables()) {
    const row = table.split('\n').find((line) => line.startsWith(`| \`${command}\` |`));
    assert.ok(row !== undefined, `no README row for ${command}`);
    for (const variable of variables) assert.ok(row.includes(`\`${variable}\``), `README row of ${command} lacks ${variable}`);
  }
});

test('the README starts with the two commands that work on a fresh machine', () => {
  const block = readme.slice(readme.indexOf('```'), readme.indexOf('```', readme.indexOf('```') + 3));
  assert.match(block, /npm ci && npm start/);
  assert.match(block, /npm test/);
});
