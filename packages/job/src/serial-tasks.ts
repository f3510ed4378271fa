/**
 * Tasks run one after another, in the order added, without the caller waiting: what a
 * synchronous hook (a step, an epoch's end) hands over to async work such as a user's
 * callback or a model write. The first failure is kept, the tasks after it are skipped,
 * and `done()` throws it; a failure is never left as an unhandled rejection.
 */
export class SerialTasks {
  private tail: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  add(task: () => unknown): void {
    this.tail = this.tail
      .then(async () => {
        if (this.failure === undefined) await task();
      })
      .catch((error: unknown) => {
        this.failure ??= { error };
      });
  }

  /** Resolves when every task added so far has run; rejects with the first failure. */
  async done(): Promise<void> {
    await this.tail;
    if (this.failure !== undefined) throw this.failure.error;
  }
}
