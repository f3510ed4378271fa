import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SerialTasks } from './serial-tasks.js';

test('tasks run in order, one at a time; the first failure skips the rest and is thrown by done(), never unhandled', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const tasks = new SerialTasks();
    const ran: string[] = [];
    tasks.add(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      ran.push('slow');
    });
    tasks.add(() => ran.push('fast'));
    await tasks.done();
    assert.deepEqual(ran, ['slow', 'fast']);
    tasks.add(() => Promise.reject(new Error('write failed')));
    tasks.add(() => ran.push('after the failure'));
    // Let the rejection settle before anyone awaits: it must not surface as unhandled.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await assert.rejects(tasks.done(), /write failed/);
    assert.deepEqual(ran, ['slow', 'fast']);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
