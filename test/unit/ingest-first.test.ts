import type { SlotReserveContext } from '@temporalio/worker';
import { IngestFirstSlots, IngestGauge } from '../../src/worker/ingest-first';

const ctx = { slotType: 'local-activity', taskQueue: 'q', workerIdentity: 'w', workerBuildId: '', isSticky: false } as SlotReserveContext;
/** Polls of the task queue and of the worker's sticky queue, for workflow tasks. */
const normalPoll = { ...ctx, slotType: 'workflow' } as SlotReserveContext;
const stickyPoll = { ...normalPoll, isSticky: true } as SlotReserveContext;
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('IngestGauge', () => {
  test('busy once busyAt webhooks are in flight at once, until quietMs pass below that; a trickle never counts; listeners hear both turns', async () => {
    const gauge = new IngestGauge({ busyAt: 3, quietMs: 200 });
    const turns: boolean[] = [];
    gauge.onChange(() => turns.push(gauge.busy));
    for (let i = 0; i < 20; i++) gauge.enter()(); // one at a time: quiet
    const two = [gauge.enter(), gauge.enter()];
    expect(gauge.busy).toBe(false);
    const third = gauge.enter();
    expect(gauge.busy).toBe(true);
    await sleep(450); // still 3 in flight: still busy
    expect(gauge.busy).toBe(true);
    third();
    third(); // leaving twice counts once
    await sleep(50);
    expect(gauge.busy).toBe(true); // below busyAt, but not yet for quietMs
    await sleep(400);
    expect(gauge.busy).toBe(false);
    for (const leave of two) leave();
    expect(turns).toEqual([true, false]);
  });
});

describe('IngestGauge.hint', () => {
  test('pressed, with a worker of this process yielding to it: the time; otherwise none', () => {
    const gauge = new IngestGauge({ busyAt: 2, quietMs: 10_000 });
    expect(gauge.hint()).toBeUndefined();
    const leave = [gauge.enter(), gauge.enter()];
    expect(gauge.busy).toBe(true);
    expect(gauge.hint()).toBeUndefined(); // an API on its own: its workers are elsewhere
    new IngestFirstSlots({ quiet: 2, busy: 1 }, gauge); // a worker here yields to it
    const before = Date.now();
    const hint = gauge.hint();
    expect(hint?.pressedAt).toBeGreaterThanOrEqual(before);
    expect(hint!.pressedAt).toBeLessThanOrEqual(Date.now());
    for (const l of leave) l();
  });

  test('quiet: no hint, even with a yielding worker', () => {
    const gauge = new IngestGauge({ busyAt: 2 });
    new IngestFirstSlots({ quiet: 2, busy: 1 }, gauge);
    gauge.enter()();
    expect(gauge.hint()).toBeUndefined();
  });
});

describe('IngestFirstSlots', () => {
  test('all slots while quiet; while busy, new reservations wait below the busy cap; quiet again, the waiters go', async () => {
    const gauge = new IngestGauge({ busyAt: 1, quietMs: 30 });
    const slots = new IngestFirstSlots({ quiet: 3, busy: 1 }, gauge);
    const never = new AbortController().signal;
    await Promise.all([slots.reserveSlot(ctx, never), slots.reserveSlot(ctx, never)]);
    expect(slots.held).toBe(2);

    gauge.enter()(); // webhooks press: cap 1, and 2 are held
    let third = false;
    const pending = slots.reserveSlot(ctx, never).then(() => void (third = true));
    expect(slots.tryReserveSlot(ctx)).toBeNull();
    slots.releaseSlot({ permit: {} });
    await tick();
    expect(third).toBe(false); // 1 held, cap 1
    await sleep(60); // quiet: cap 3
    await pending;
    expect(third).toBe(true);
    expect(slots.held).toBe(2);
    expect(slots.tryReserveSlot(ctx)).not.toBeNull();
    expect(slots.tryReserveSlot(ctx)).toBeNull();
  });

  test('a reservation the SDK abandons rejects with its abort reason and leaves no listener on the gauge', async () => {
    const gauge = new IngestGauge({ quietMs: 1_000 });
    const slots = new IngestFirstSlots({ quiet: 1, busy: 1 }, gauge);
    await slots.reserveSlot(ctx, new AbortController().signal);
    const abort = new AbortController();
    const waiting = slots.reserveSlot(ctx, abort.signal);
    const listeners = (gauge as unknown as { listeners: Set<unknown> }).listeners;
    expect(listeners.size).toBe(1);
    abort.abort(new Error('poller gone'));
    await expect(waiting).rejects.toThrow('poller gone');
    expect(listeners.size).toBe(0);
    expect(slots.held).toBe(1);
    await expect(slots.reserveSlot(ctx, abort.signal)).rejects.toThrow('poller gone');
  });

  test('workflow-task polls: sticky polls opened while quiet do not keep the task queue from a slot once webhooks press; neither queue takes the last free slot while the other holds none', async () => {
    const gauge = new IngestGauge({ busyAt: 1, quietMs: 1_000 });
    const slots = new IngestFirstSlots({ quiet: 10, busy: 2 }, gauge);
    const never = new AbortController().signal;
    const stickyPermits = await Promise.all(Array.from({ length: 5 }, () => slots.reserveSlot(stickyPoll, never)));
    gauge.enter()(); // webhooks press: cap 2, and 5 idle sticky polls hold slots
    const normal = slots.tryReserveSlot(normalPoll);
    expect(normal).not.toBeNull(); // the task queue held none: it gets one, past the cap
    expect(slots.held).toBe(6);
    expect(slots.tryReserveSlot(normalPoll)).toBeNull();
    expect(slots.tryReserveSlot(stickyPoll)).toBeNull();
    let second = false;
    const pending = slots.reserveSlot(normalPoll, never).then(() => void (second = true));
    slots.releaseSlot({ permit: stickyPermits[0]! }); // a sticky poll got its task: 5 held, cap 2
    await tick();
    expect(second).toBe(false);
    slots.releaseSlot({ permit: normal! }); // the task queue holds none again
    await pending;
    expect(second).toBe(true);
    expect(slots.held).toBe(5);

    const fresh = new IngestFirstSlots({ quiet: 3, busy: 3 }, new IngestGauge());
    expect(fresh.tryReserveSlot(normalPoll)).not.toBeNull();
    expect(fresh.tryReserveSlot(normalPoll)).not.toBeNull();
    expect(fresh.tryReserveSlot(normalPoll)).toBeNull(); // the last one is the sticky queue's while it holds none
    expect(fresh.tryReserveSlot(stickyPoll)).not.toBeNull();
    expect(fresh.tryReserveSlot(stickyPoll)).toBeNull();
    expect(fresh.held).toBe(3);
  });
});
