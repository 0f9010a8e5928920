import { pollDelay, waitFor } from '../../src/dev/cli';

describe('pollDelay', () => {
  test('150 ms for the first 1.5 s of a wait, then a tenth of the time waited, at most a second', () => {
    expect([0, 1_000, 1_500, 3_000, 6_000, 9_999, 10_000, 120_000].map(pollDelay)).toEqual([150, 150, 150, 300, 600, 1_000, 1_000, 1_000]);
  });
});

describe('waitFor', () => {
  test('polls on the schedule by default, every intervalMs when given: a wait of a minute polls 80 times, not 400', async () => {
    jest.useFakeTimers();
    try {
      const polls = (intervalMs?: number) => {
        const seen = { calls: 0 };
        const started = Date.now();
        const done = waitFor(async () => (++seen.calls, Date.now() - started >= 60_000 ? true : undefined), 120_000, 'a minute', intervalMs);
        return { seen, done };
      };
      const scheduled = polls();
      const fixed = polls(150);
      await jest.advanceTimersByTimeAsync(61_000);
      await Promise.all([scheduled.done, fixed.done]);
      // 11 in the first 1.5 s, about 19 more up to 10 s, then one a second.
      expect(scheduled.seen.calls).toBeGreaterThanOrEqual(75);
      expect(scheduled.seen.calls).toBeLessThanOrEqual(85);
      expect(fixed.seen.calls).toBeGreaterThanOrEqual(400);
    } finally {
      jest.useRealTimers();
    }
  });

  test('names what it waited for, and the last error, when it times out', async () => {
    await expect(waitFor(async () => Promise.reject(new Error('store down')), 300, 'the store')).rejects.toThrow('timed out after 300 ms waiting for the store: store down');
  });
});
