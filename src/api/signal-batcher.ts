/**
 * Group commit of webhook events into signals, per merchant. While a merchant
 * has a free signal slot (`maxInFlight`, default 1), an event goes at once (no
 * added latency when traffic is light); while every slot is taken, the events
 * that arrive wait and leave together in the next signal. When events keep
 * coming (the last signal left less than `busyWithinMs` ago) a batch also
 * lingers `lingerMs` for more. Each HTTP request still answers only once its
 * own event is durably in Temporal. Under a flood this turns thousands of
 * webhooks into a few hundred signals: fewer RPCs, and a merchant run's
 * history (and its 10,000-signal cap) grows by batches, not by events.
 *
 * Events of one merchant are not ordered across slots, nor need to be: the
 * merchant workflow treats each on its own (a duplicate or an early event is
 * absorbed by the child workflow ids), and BigCommerce's own deliveries come
 * unordered over concurrent connections.
 */
export class SignalBatcher<E> {
  private readonly queues = new Map<string, { waiting: Array<{ event: E; done: (err?: unknown) => void }>; inFlight: number; lingering: boolean; lastSentAt: number }>();

  constructor(
    private readonly send: (key: string, events: E[]) => Promise<void>,
    private readonly opts: { maxBatch?: number; lingerMs?: number; busyWithinMs?: number; maxInFlight?: number } = {},
  ) {}

  /** Resolves when `event` was delivered (in some batch); rejects with that batch's error. */
  submit(key: string, event: E): Promise<void> {
    return new Promise((resolve, reject) => {
      let q = this.queues.get(key);
      if (!q) this.queues.set(key, (q = { waiting: [], inFlight: 0, lingering: false, lastSentAt: 0 }));
      q.waiting.push({ event, done: (err) => (err === undefined ? resolve() : reject(err)) });
      void this.flush(key);
    });
  }

  private async flush(key: string): Promise<void> {
    const { maxBatch = 250, lingerMs = 0, busyWithinMs = 50, maxInFlight = 1 } = this.opts;
    const q = this.queues.get(key);
    if (!q || q.lingering || q.inFlight >= maxInFlight) return;
    if (q.waiting.length === 0) {
      if (q.inFlight === 0 && Date.now() - q.lastSentAt > busyWithinMs) this.queues.delete(key);
      return;
    }
    if (lingerMs > 0 && Date.now() - q.lastSentAt < busyWithinMs && q.waiting.length < maxBatch) {
      q.lingering = true;
      await new Promise((r) => setTimeout(r, lingerMs));
      q.lingering = false;
    }
    q.inFlight++;
    q.lastSentAt = Date.now();
    const batch = q.waiting.splice(0, maxBatch);
    void this.flush(key); // what is left may take another slot at once
    try {
      await this.send(
        key,
        batch.map((b) => b.event),
      );
      for (const b of batch) b.done();
    } catch (err) {
      for (const b of batch) b.done(err ?? new Error('signal failed'));
    } finally {
      q.inFlight--;
      void this.flush(key);
    }
  }
}
