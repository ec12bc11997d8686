/**
 * Runs tasks of one key one after another, in this process; tasks of other keys run freely. For
 * a look-then-write on GitHub that must not interleave with itself (drift evidence of one model
 * and site), where GitHub offers no compare-and-swap. One per app, made where the app is built.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
