import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';
import { assertClose, initBothBackends, runKernel, runOnBoth, seededUniform } from '../testing/both-backends.js';
import { tileConfig } from './tile.js';

describe('Tile on wasm', () => {
  before(initBothBackends);

  it('is this package’s kernel', () => {
    assert.equal(tf.getKernel('Tile', 'wasm')?.kernelFunc, tileConfig.kernelFunc);
  });

  const cases: [number[], number[]][] = [
    [[3], [4]],
    [[1, 1, 1, 5], [2, 3, 4, 1]],
    [[2, 3], [2, 2]],
    [[2, 1, 3], [1, 4, 2]],
    [[3, 2, 2], [1, 1, 1]],
    [[2, 3], [0, 2]],
  ];
  for (const [index, [shape, reps]] of cases.entries()) {
    it(`copies exactly: [${shape}] x [${reps}]`, async () => {
      const x = seededUniform(shape.reduce((a, b) => a * b, 1), index + 1);
      const result = await runOnBoth(() => [
        tf.tile(tf.tensor(x, shape), reps),
        tf.tile(tf.tensor(x.map((v) => Math.round(v * 100)), shape, 'int32'), reps),
        tf.tile(tf.tensor(x.map((v) => (v > 0 ? 1 : 0)), shape, 'bool'), reps),
      ]);
      assert.deepEqual(result.shapes[0], shape.map((d, i) => d * (reps[i] as number)));
      assertClose(result, 0, `tile [${shape}] [${reps}]`);
    });
  }

  it('is what batch norm’s gradient tiles: a [1,1,1,C] vector to a whole activation', async () => {
    const v = seededUniform(16, 9);
    const result = await runOnBoth(() => tf.tile(tf.tensor(v, [1, 1, 1, 16]), [3, 5, 7, 1]));
    assertClose(result, 0, 'BN-shaped tile');
  });

  it('refuses bad calls with coded BackendErrors: no input, reps of the wrong length, a string tensor', async () => {
    const codeOf = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        return e instanceof BackendError ? e.code : `not a BackendError: ${String(e)}`;
      }
      return 'no error';
    };
    await tf.setBackend('wasm');
    try {
      assert.equal(codeOf(() => runKernel('Tile', {}, { reps: [2] })), 'BACKEND_ERR_MISSING_INPUT');
      assert.equal(codeOf(() => runKernel('Tile', { x: tf.zeros([2, 3]) }, { reps: [2] })), 'BACKEND_ERR_BAD_SHAPE');
      assert.equal(codeOf(() => runKernel('Tile', { x: tf.tensor(['a', 'b']) }, { reps: [2] })), 'BACKEND_ERR_UNSUPPORTED');
    } finally {
      await tf.setBackend('cpu');
    }
  });
});
