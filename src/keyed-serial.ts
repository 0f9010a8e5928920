/**
 * Runs tasks of one key one after another (in call order); tasks of different
 * keys run freely. Each task is handed what the task before it of its key
 * returned (undefined if there was none, or it failed). With a bound, a task
 * waits that long at most for the one before it, then runs anyway and is
 * handed undefined: one that hangs holds its key's next tasks that long only.
 */
export class KeyedSerial<T = unknown> {
  private readonly tails = new Map<string, Promise<T | undefined>>();

  constructor(private readonly waitAtMostMs = Infinity) {}

  run<R extends T>(key: string, task: (previous: T | undefined) => Promise<R>): Promise<R> {
    const before = this.tails.get(key);
    const result = (before ? settledWithin(before, this.waitAtMostMs) : Promise.resolve(undefined)).then(task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/** The promise's value if it settles within `ms`, else undefined (`promise` must not reject). */
function settledWithin<T>(promise: Promise<T | undefined>, ms: number): Promise<T | undefined> {
  if (!Number.isFinite(ms)) return promise;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}
