import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { resolveTestServer } from '../../src/dev/binaries';
import type { CreditResult, OrderResult, OrderSnapshot } from '../../src/workflows/messages';
import { orderStatusChangedSignal } from '../../src/workflows/messages';
import { installQuietRuntime } from '../helpers/quiet-runtime';

/**
 * The incomplete-order timers of rule 3 (first re-check at 60 s, doubling to
 * 6 h, giving up after 7 days), on Temporal's time-skipping test server with
 * mocked activities: a week passes in seconds.
 */
let env: TestWorkflowEnvironment;
beforeAll(async () => {
  installQuietRuntime();
  const path = await resolveTestServer((line) => process.stderr.write(`[test server] ${line}\n`));
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}, 300_000);
afterAll(async () => {
  await env?.teardown();
});

const HOUR = 3_600;
let seq = 0;

function order(statusId: number): OrderSnapshot {
  return { orderId: 500, statusId, totalIncTax: '25.0000', currency: 'USD', email: 'late@example.com', customerId: null, placedAt: 0 };
}

/**
 * Runs the order workflow with `fetchOrder` mocked; answers its result and the
 * (skipped) times of each fetch, in ms from the first. Time skips only while the
 * test awaits the result: `beforeResult` runs first, with the clock held.
 */
async function runOrder(
  fetchOrder: (call: number, workflowId: string) => Promise<OrderSnapshot | null>,
  beforeResult?: (workflowId: string, fetches: () => number) => Promise<void>,
) {
  const taskQueue = `timers-${++seq}`;
  const workflowId = `bigcommerce-order:timers:${seq}`;
  const fetchedAt: number[] = [];
  const credited: OrderSnapshot[] = [];
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    activities: {
      fetchOrder: async () => {
        fetchedAt.push(await env.currentTimeMs());
        return fetchOrder(fetchedAt.length, workflowId);
      },
      creditOrder: async ({ order: o }: { order: OrderSnapshot }): Promise<CreditResult> => {
        credited.push(o);
        return { outcome: 'credited', credit: { transactionId: 'order:timers:500', points: 25, totalIncTax: o.totalIncTax, currency: o.currency, contactId: '0'.repeat(24) } };
      },
    },
  });
  const result = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('orderWorkflow', { taskQueue, workflowId, args: [{ merchantId: 'timers', orderId: 500 }] });
    await beforeResult?.(workflowId, () => fetchedAt.length);
    return (await handle.result()) as OrderResult;
  });
  const t0 = fetchedAt[0]!;
  return { result, credited, at: fetchedAt.map((t) => t - t0) };
}

/** The waits between fetches, in ms, each checked to be `expected` seconds (plus the mock's real milliseconds). */
function expectGaps(at: number[], expected: number[]) {
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  expect(gaps).toHaveLength(expected.length);
  gaps.forEach((gap, i) => {
    expect(gap).toBeGreaterThanOrEqual(expected[i]! * 1000);
    expect(gap).toBeLessThan(expected[i]! * 1000 + 2_000);
  });
}

test('an order incomplete for ever is re-checked after 60 s, backing off to 6 h, and given up after 7 days', async () => {
  const { result, credited, at } = await runOrder(async () => order(0));
  expect(result).toEqual({ outcome: 'still_incomplete' });
  expect(credited).toHaveLength(0);
  const doubling = [60, 120, 240, 480, 960, 1_920, 3_840, 7_680, 15_360];
  // 30,660 s of doubling, then 6 h waits until 7 days (604,800 s) of waiting are reached: 27 of them.
  expectGaps(at, [...doubling, ...Array<number>(27).fill(6 * HOUR)]);
  // It gives up at the first re-check at or past 7 days of waiting, not before.
  expect(at[at.length - 1]).toBeGreaterThanOrEqual(7 * 24 * HOUR * 1000);
  expect(at[at.length - 2]).toBeLessThan(7 * 24 * HOUR * 1000);
});

test('an order placed after 3 hours is credited at the re-check that finds it placed', async () => {
  const { result, credited, at } = await runOrder(async (call) => order(call >= 7 ? 11 : 0));
  expect(result).toMatchObject({ outcome: 'credited' });
  expect(credited).toHaveLength(1);
  expectGaps(at, [60, 120, 240, 480, 960, 1_920]);
});

test('a status signal that arrives while a re-check is fetching wakes the next wait at once (lost wake-up)', async () => {
  const { result, at } = await runOrder(async (call, workflowId) => {
    // The second fetch (after the first 60 s timer) is in flight when BigCommerce reports the order placed;
    // BigCommerce still answered the fetch with the stale status.
    if (call === 2) await env.client.workflow.getHandle(workflowId).signal(orderStatusChangedSignal, { newStatusId: 11 });
    return order(call >= 3 ? 11 : 0);
  });
  expect(result).toMatchObject({ outcome: 'credited' });
  // Without the fix the signal was forgotten and the third fetch waited for the 120 s timer.
  expectGaps(at, [60, 0]);
});

test('a signal during the wait cuts the timer short', async () => {
  const { result, at } = await runOrder(
    async (call) => order(call >= 2 ? 11 : 0),
    async (workflowId, fetches) => {
      // The clock is held until the result is awaited: the 60 s timer cannot fire first.
      while (fetches() < 1) await new Promise((r) => setTimeout(r, 20));
      await env.client.workflow.getHandle(workflowId).signal(orderStatusChangedSignal, { newStatusId: 11 });
    },
  );
  expect(result).toMatchObject({ outcome: 'credited' });
  expectGaps(at, [0]);
});
