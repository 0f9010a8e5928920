/**
 * Group commit of webhook events into signals, per merchant. While no signal of
 * a merchant is on its way, an event goes at once (no added latency when
 * traffic is light); while one is, the events that arrive wait and leave
 * together in the next signal. When events keep coming (the last signal left
 * less than `busyWithinMs` ago) a batch also lingers `lingerMs` for more. Each HTTP request still answers only once its
 * own event is durably in Temporal. Under a flood this turns thousands of
 * webhooks into a few hundred signals: fewer RPCs, and a merchant run's
 * history (and its 10,000-signal cap) grows by batches, not by events.
 */
export class SignalBatcher<E> {
  private readonly queues = new Map<string, { waiting: Array<{ event: E; done: (err?: unknown) => void }>; sending: boolean; lastSentAt: number }>();

  constructor(
    private readonly send: (key: string, events: E[]) => Promise<void>,
    private readonly opts: { maxBatch?: number; lingerMs?: number; busyWithinMs?: number } = {},
  ) {}

  /** Resolves when `event` was delivered (in some batch); rejects with that batch's error. */
  submit(key: string, event: E): Promise<void> {
    return new Promise((resolve, reject) => {
      let q = this.queues.get(key);
      if (!q) this.queues.set(key, (q = { waiting: [], sending: false, lastSentAt: 0 }));
      q.waiting.push({ event, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!q.sending) void this.flush(key);
    });
  }

  private async flush(key: string): Promise<void> {
    const q = this.queues.get(key);
    if (!q || q.sending) return;
    if (q.waiting.length === 0) {
      if (Date.now() - q.lastSentAt > (this.opts.busyWithinMs ?? 50)) this.queues.delete(key);
      return;
    }
    q.sending = true;
    const { maxBatch = 250, lingerMs = 0, busyWithinMs = 50 } = this.opts;
    if (lingerMs > 0 && Date.now() - q.lastSentAt < busyWithinMs && q.waiting.length < maxBatch) await new Promise((r) => setTimeout(r, lingerMs));
    q.lastSentAt = Date.now();
    const batch = q.waiting.splice(0, maxBatch);
    try {
      await this.send(
        key,
        batch.map((b) => b.event),
      );
      for (const b of batch) b.done();
    } catch (err) {
      for (const b of batch) b.done(err ?? new Error('signal failed'));
    } finally {
      q.sending = false;
      void this.flush(key);
    }
  }
}
