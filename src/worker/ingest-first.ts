import type { CustomSlotSupplier, SlotInfo, SlotPermit, SlotReleaseContext, SlotReserveContext } from '@temporalio/worker';
import { metrics } from '../observability/metrics';
import type { IngestHint } from '../workflows/messages';

/**
 * Whether this process's webhook route is under pressure: authenticated
 * webhooks in flight at once reach `busyAt` (requests in flight are arrival
 * rate × answer time, so this reads both: a trickle answered fast never
 * counts, a burst or slow answers do), and it stays busy until `quietMs` pass
 * below that. There is one per process (`ingestGauge`); a worker running in
 * the API's process (`npm start`) can yield to it.
 */
export class IngestGauge {
  private readonly busyAt: number;
  private readonly quietMs: number;
  private lastAt = 0;
  private busyNow = false;
  private inFlight = 0;
  private readonly listeners = new Set<() => void>();
  private workerYields = false;

  constructor(opts: { busyAt?: number; quietMs?: number } = {}) {
    this.busyAt = opts.busyAt ?? 4;
    this.quietMs = opts.quietMs ?? 250;
  }

  get busy(): boolean {
    return this.busyNow;
  }

  /** A worker in this process yields to this gauge (`IngestFirstSlots` says so). */
  yieldingWorker(): void {
    this.workerYields = true;
  }

  /**
   * What the webhook route tells the merchant workflow with a signal: pressed
   * now, if a worker of this process yields to it. Starting the events'
   * workflows would take the Temporal server's time that acknowledging needs,
   * and the yielding worker would not run them yet, so the merchant holds them
   * for a moment (workflows/merchant.ts). An API on its own (`npm run api`)
   * sends no hint: its workers are elsewhere and do not yield.
   */
  hint(): IngestHint | undefined {
    return this.busyNow && this.workerYields ? { pressedAt: Date.now() } : undefined;
  }

  /** A webhook is being handled; call what it answers when its response is done (once). */
  enter(): () => void {
    this.inFlight++;
    if (this.inFlight >= this.busyAt) this.pressed();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (this.inFlight >= this.busyAt) this.lastAt = Date.now(); // pressed until now
      this.inFlight--;
    };
  }

  private pressed(): void {
    this.lastAt = Date.now();
    if (this.busyNow) return;
    this.busyNow = true;
    this.emit();
    this.checkLater(this.quietMs);
  }

  /** Calls `listener` whenever busy turns on or off; answers how to stop. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private checkLater(ms: number): void {
    setTimeout(() => {
      if (this.inFlight >= this.busyAt) this.lastAt = Date.now(); // still pressed, even with no new arrival
      const quietFor = Date.now() - this.lastAt;
      if (quietFor < this.quietMs) return this.checkLater(this.quietMs - quietFor);
      this.busyNow = false;
      this.emit();
    }, ms).unref();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

export const ingestGauge = new IngestGauge();
ingestGauge.onChange(() => metrics.webhookPressure.set(ingestGauge.busy ? 1 : 0));

/**
 * A worker slot supplier that yields to webhook ingest: `quiet` slots while
 * the gauge is quiet, `busy` while webhooks press. On one machine the
 * worker's tasks (and the Temporal server and store work each one causes) take
 * the cores that acknowledging webhooks needs; capped while they arrive, the
 * worker lets the answers go out in tens of milliseconds instead of seconds,
 * and drains at full speed in between (README, Performance). A lower cap
 * applies to new reservations only: slots already held finish their tasks.
 *
 * Workflow-task slots are reserved before each poll, and an idle poll holds
 * its slot until a task comes or the poll times out. The SDK's core keeps a
 * poll on each of its two queues (the worker's sticky queue and the task
 * queue) when it knows how many slots there are, which it does not for a
 * custom supplier; so this one does: a queue whose polls hold no slot may
 * always take one, even past the cap, and neither queue takes the last free
 * slot while the other holds none. Without it, the sticky polls that were
 * open when webhooks began to press kept their slots, idle, for the whole
 * sale, and a task on the task queue (a merchant's after its continue-as-new
 * was refused, and with it every redemption) waited until the webhooks
 * stopped (docs/performance.md, seventeenth session).
 */
export class IngestFirstSlots<SI extends SlotInfo> implements CustomSlotSupplier<SI> {
  readonly type = 'custom';
  private used = 0;
  /** Of `used`, the workflow-task slots reserved for sticky polls. */
  private sticky = 0;
  private readonly waiting = new Set<() => void>();
  /** Listens to the gauge only while someone waits (a stopped worker leaves nothing behind). */
  private unlisten: (() => void) | undefined;

  constructor(
    private readonly slots: { quiet: number; busy: number },
    private readonly gauge: IngestGauge,
  ) {
    gauge.yieldingWorker();
  }

  /** Slots held now (for tests and metrics). */
  get held(): number {
    return this.used;
  }

  private get limit(): number {
    return this.gauge.busy ? this.slots.busy : this.slots.quiet;
  }

  /**
   * Whether a reservation may take a slot now: one is free under the cap; for
   * a workflow task's poll, also always when its queue holds none, and never
   * the last one while the other queue holds none.
   */
  private mayTake(ctx: SlotReserveContext): boolean {
    if (ctx.slotType !== 'workflow') return this.used < this.limit;
    const mine = ctx.isSticky ? this.sticky : this.used - this.sticky;
    if (mine === 0) return true;
    if (this.used >= this.limit) return false;
    return this.used - mine > 0 || mine + 1 < this.limit;
  }

  private take(ctx: SlotReserveContext): SlotPermit {
    this.used++;
    if (ctx.slotType === 'workflow' && ctx.isSticky) {
      this.sticky++;
      return { sticky: true };
    }
    return {};
  }

  async reserveSlot(ctx: SlotReserveContext, abortSignal: AbortSignal): Promise<SlotPermit> {
    while (!this.mayTake(ctx)) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          this.stopWaiting(wake);
          abortSignal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          this.stopWaiting(wake);
          reject(abortSignal.reason);
        };
        if (abortSignal.aborted) return reject(abortSignal.reason);
        this.waiting.add(wake);
        this.unlisten ??= this.gauge.onChange(() => this.wake());
        abortSignal.addEventListener('abort', onAbort, { once: true });
      });
    }
    return this.take(ctx);
  }

  tryReserveSlot(ctx: SlotReserveContext): SlotPermit | null {
    return this.mayTake(ctx) ? this.take(ctx) : null;
  }

  markSlotUsed(): void {}

  releaseSlot(ctx: SlotReleaseContext<SI>): void {
    this.used--;
    if ((ctx.permit as { sticky?: boolean }).sticky) this.sticky--;
    this.wake();
  }

  private stopWaiting(wake: () => void): void {
    this.waiting.delete(wake);
    if (this.waiting.size > 0) return;
    this.unlisten?.();
    this.unlisten = undefined;
  }

  private wake(): void {
    for (const wake of [...this.waiting]) wake();
  }
}
