import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainRankEnv, withoutOptions } from './rank-process-command.js';

test("a rank process gets the launcher's arguments without the launcher's own options, in either spelling", () => {
  const args = ['--coordinator', 'ws://h:7070', '--procs', '2', '--threads=4', '--model', 'm.mjs', '--peer-port', '9000'];
  assert.deepEqual(withoutOptions(args, ['--procs', '--threads', '--peer-port']), ['--coordinator', 'ws://h:7070', '--model', 'm.mjs']);
});

test("train's rank processes get the generated token and no launcher setting, test hooks kept", () => {
  const env = trainRankEnv('t0k', { PATH: '/bin', TFJS_DDP_TOKEN_FILE: 'f', TFJS_DDP_THREADS: '4', TFJS_DDP_TEST_REPORT_DEVICE: '1' });
  assert.deepEqual(env, { PATH: '/bin', TFJS_DDP_TEST_REPORT_DEVICE: '1', TFJS_DDP_TOKEN: 't0k' });
});
