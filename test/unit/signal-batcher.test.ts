import { SignalBatcher } from '../../src/api/signal-batcher';

describe('SignalBatcher: group commit per merchant', () => {
  test('an event alone goes at once; events arriving while a signal is on its way leave together in the next', async () => {
    const sent: Array<[string, number[]]> = [];
    let release: () => void = () => undefined;
    const batcher = new SignalBatcher<number>(async (key, events) => {
      sent.push([key, events]);
      if (sent.length === 1) await new Promise<void>((r) => (release = r)); // the first signal is slow
    });
    const first = batcher.submit('m', 1);
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([['m', [1]]]);
    const later = [2, 3, 4].map((n) => batcher.submit('m', n));
    const other = batcher.submit('other', 9); // another merchant does not wait
    await other;
    release();
    await Promise.all([first, ...later]);
    expect(sent).toEqual([
      ['m', [1]],
      ['other', [9]],
      ['m', [2, 3, 4]],
    ]);
  });

  test('a failed signal fails every request of its batch, and the next batch is tried anew', async () => {
    let calls = 0;
    let release: () => void = () => undefined;
    const batcher = new SignalBatcher<number>(async (_key, events) => {
      calls++;
      if (calls === 1) await new Promise<void>((r) => (release = r));
      if (events.includes(2)) throw new Error('temporal unavailable');
    });
    const first = batcher.submit('m', 1);
    await new Promise((r) => setImmediate(r));
    const failing = [batcher.submit('m', 2), batcher.submit('m', 3)];
    release();
    await first;
    await expect(Promise.all(failing)).rejects.toThrow('temporal unavailable');
    await expect(failing[1]).rejects.toThrow('temporal unavailable');
    await expect(batcher.submit('m', 4)).resolves.toBeUndefined();
  });

  test('under steady traffic a batch lingers for more; an event after a quiet spell goes at once', async () => {
    const sizes: number[] = [];
    const batcher = new SignalBatcher<number>(async (_key, events) => void sizes.push(events.length), { lingerMs: 20, busyWithinMs: 100 });
    await batcher.submit('m', 0); // quiet: at once
    const burst = [1, 2, 3].map((n) => batcher.submit('m', n)); // right after: lingers 20 ms and takes all three
    await Promise.all(burst);
    expect(sizes).toEqual([1, 3]);
    await new Promise((r) => setTimeout(r, 150));
    const t0 = Date.now();
    await batcher.submit('m', 4);
    expect(Date.now() - t0).toBeLessThan(15);
  });

  test('batches are capped', async () => {
    const sizes: number[] = [];
    let release: () => void = () => undefined;
    const batcher = new SignalBatcher<number>(async (_key, events) => {
      sizes.push(events.length);
      if (sizes.length === 1) await new Promise<void>((r) => (release = r));
    }, { maxBatch: 3 });
    const all = [batcher.submit('m', 0)];
    await new Promise((r) => setImmediate(r));
    for (let i = 1; i <= 7; i++) all.push(batcher.submit('m', i));
    release();
    await Promise.all(all);
    expect(sizes).toEqual([1, 3, 3, 1]);
  });

  test('with several slots, a slow signal does not hold back the next events; batching resumes when all slots are taken', async () => {
    const sent: number[][] = [];
    const releases: Array<() => void> = [];
    const batcher = new SignalBatcher<number>(
      async (_key, events) => {
        sent.push(events);
        await new Promise<void>((r) => releases.push(r));
      },
      { maxInFlight: 2 },
    );
    const all = [batcher.submit('m', 1)];
    await new Promise((r) => setImmediate(r));
    all.push(batcher.submit('m', 2)); // the second slot: at once, although the first signal has not returned
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([[1], [2]]);
    for (let i = 3; i <= 5; i++) all.push(batcher.submit('m', i)); // both slots taken: these wait together
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(2);
    releases[0]!();
    await all[0];
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([[1], [2], [3, 4, 5]]);
    releases[1]!();
    releases[2]!();
    await Promise.all(all);
  });
});
