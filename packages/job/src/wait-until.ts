/**
 * Promises that resolve when a condition holds, for code driven by incoming messages:
 * whoever changes what a condition reads calls `wake()`, and every pending condition is
 * checked again. A failure (`failure()` no longer undefined) rejects every pending wait
 * with it, so one lost worker ends whatever its job was waiting for.
 */
export class WaitUntil {
  private readonly pending = new Set<() => void>();

  /** `failure` is read at every check: once it returns an error, every wait rejects with it. */
  constructor(private readonly failure: () => Error | undefined) {}

  /** Resolves when `ready()` holds; rejects at a failure, or with `timeoutError()` after `timeoutMs`. */
  until(ready: () => boolean, timeoutMs: number, timeoutError: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        const failure = this.failure();
        if (failure !== undefined) {
          done();
          reject(failure);
        } else if (ready()) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(timeoutError());
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.pending.delete(check);
      };
      this.pending.add(check);
      check();
    });
  }

  /** Checks every pending wait again: call it after anything a condition reads has changed. */
  wake(): void {
    for (const check of [...this.pending]) check();
  }

  /** Waits not yet settled (tests check that none is left behind). */
  get size(): number {
    return this.pending.size;
  }
}
