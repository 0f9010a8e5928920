import { RateBudget } from '../../src/bigcommerce/rate-budget';

/**
 * The budget never lets this process use more than its share of a store's
 * window, even when responses come back late and out of order (CONTRACT §4
 * rule 10). A clock of our own; BigCommerce's window starts at the first
 * request after the last one ended, as in the sandbox.
 */
describe('RateBudget', () => {
  const W = 1_000;
  const headers = (left: number, resetMs: number) => ({ quota: 50, left, resetMs, windowMs: W });

  function budget() {
    let t = 0;
    const b = new RateBudget(0.8, () => t);
    const take = (n: number) => {
      let sent = 0;
      while (sent < n && b.tryAcquire('live') === 0) sent++;
      return sent;
    };
    return { b, take, at: (ms: number) => (t = ms) };
  }

  test('a late answer from a window that has passed does not end the current window early', () => {
    const { b, take, at } = budget();
    // Window 1 of the store: [0, 1000). The first request tells the quota.
    expect(take(1)).toBe(1);
    at(10);
    b.settle(headers(49, 990));
    expect(take(100)).toBe(39); // 40 in window 1: the share of 50
    at(20);
    for (let i = 0; i < 38; i++) b.settle(headers(10, 980)); // one request of window 1 is still out
    // The store's window 2 begins with our next request, at 1030.
    at(1_030);
    const second = take(100);
    expect(second).toBeGreaterThan(0);
    at(1_040);
    for (let i = 0; i < second; i++) b.settle(headers(50 - 1 - i, 990));
    // The answer to window 1's last request arrives now, late: its reset (10 ms from when it was counted) is window 1's.
    at(1_050);
    b.settle(headers(10, 10));
    // Still inside the store's window 2 [1030, 2030): nothing more may leave.
    let more = 0;
    for (let ms = 1_060; ms < 2_030; ms += 10) {
      at(ms);
      more += take(100);
    }
    expect(second + more).toBeLessThanOrEqual(40);
  });

  test('a window that starts with our request is not taken to end before its answers say', () => {
    const { b, take, at } = budget();
    expect(take(1)).toBe(1);
    at(10);
    b.settle(headers(49, 990));
    take(100);
    at(20);
    for (let i = 0; i < 39; i++) b.settle(headers(10, 980));
    // At 1030 we guess a new window of 1 s; the store counts our requests from 1080 (50 ms away), so its window ends at 2080.
    at(1_030);
    const second = take(100);
    at(1_130);
    for (let i = 0; i < second; i++) b.settle(headers(50 - 1 - i, 950)); // 1130 + 950 = 2080
    let more = 0;
    for (let ms = 1_140; ms < 2_080; ms += 10) {
      at(ms);
      more += take(100);
    }
    expect(second + more).toBeLessThanOrEqual(40);
  });
});
