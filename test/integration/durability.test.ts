import { merchantWorkflow } from '../../src/workflows/merchant';
import { continueAsNewRequestedSignal, merchantWorkflowId } from '../../src/workflows/messages';
import { eventMs, type HistoryEvent } from '../helpers/history';
import { startSystem, type System, waitFor } from '../helpers/system';

let sys: System;
beforeAll(async () => {
  // A low bound so 200 orders take the merchant workflow through several runs.
  sys = await startSystem({ historyLimit: 150 });
});
afterAll(async () => {
  await sys?.stop();
});

async function ordersCredited(id: string, n: number, timeoutMs = 90_000) {
  return waitFor(async () => {
    const s = await sys.state(id);
    if (s.body.stats.ordersCredited === n) return s.body;
    throw new Error(`${s.body.stats.ordersCredited} so far`); // named by a timeout
  }, timeoutMs, `${n} orders credited`);
}

// The two cases that keep the worker running run side by side, each with its own
// merchant and store; the one that stops it runs alone. The flood of webhooks while
// no worker runs has a file of its own (flood.test.ts).
test.concurrent('with continue-as-new every ~150 events, 200 orders credit exactly 200 transactions across several runs', async () => {
  const id = `can-${Math.random().toString(36).slice(2, 7)}`;
  const account = sys.newStore();
  await sys.installActive(id, account);
  for (let i = 0; i < 200; i++) {
    sys.sandbox.createOrder(account.storeHash, { totalIncTax: '10.0000', email: `c${i % 20}@example.com` });
  }
  await sys.sandbox.delivery.idle();
  await ordersCredited(id, 200, 180_000);
  const handle = sys.client.workflow.getHandle(`bigcommerce-merchant:${id}`);
  type Counters = { runs: number; ordersStarted: number; eventsReceived: number; duplicateEvents: number };
  // A retried delivery taken late may still wait in the run (held while webhooks press, up to 5 s)
  // when the last order is credited: every event received is an order started or a duplicate once
  // the run has looked at it. One lost at a continue-as-new never would be.
  const state = await waitFor(async () => {
    const s = (await handle.query('state')) as { counters: Counters };
    const { eventsReceived, ordersStarted, duplicateEvents } = s.counters;
    if (eventsReceived === ordersStarted + duplicateEvents) return s;
    throw new Error(`${eventsReceived} received, ${ordersStarted} started, ${duplicateEvents} duplicates`);
  }, 30_000, 'every event received to be started or known as a duplicate');
  expect(state.counters.runs).toBeGreaterThan(2);
  expect(state.counters.ordersStarted).toBe(200);
  // Delivery is at least once: a delivery answered with an error after its signal was
  // taken (the 5 s deadline under load) is retried by the sandbox, as by BigCommerce.
  // Every extra signal is such a retry, and was recognised as a duplicate.
  const hookIds = new Set(sys.sandbox.hooks(account.storeHash).map((h) => h.id));
  const retried = sys.sandbox.delivery.log.filter((d) => hookIds.has(d.hookId) && d.attempt > 0).length;
  expect(state.counters.eventsReceived - 200).toBeLessThanOrEqual(retried);
  // Every contact's balance is the sum of its transactions, and all of them add up.
  let total = 0;
  for (let c = 0; c < 20; c++) {
    const contact = await sys.contact(id, `c${c}@example.com`);
    const txs = await sys.transactions(id, contact!.id);
    expect(contact!.balance).toBe(txs.reduce((s, t) => s + t.points, 0));
    total += contact!.balance;
  }
  expect(total).toBe(2000);
  // Each run stayed under the contract's 10,000 events, as the server counts them (describe(); the
  // visibility store does not keep a running run's length).
  for await (const run of sys.client.workflow.list({ query: `WorkflowId = "bigcommerce-merchant:${id}"` })) {
    expect((await sys.client.workflow.getHandle(run.workflowId, run.runId).describe()).historyLength).toBeLessThan(10_000);
  }
}, 300_000);

test('the worker is stopped after the webhooks were accepted and a new one started: every order credited exactly once', async () => {
  const id = `crash-${Math.random().toString(36).slice(2, 7)}`;
  const account = sys.newStore();
  await sys.installActive(id, account);
  await sys.stopWorkerWhenSettled(`bigcommerce-merchant:${id}`);
  const ok = sys.sandbox.delivery.log.length;
  for (let i = 0; i < 30; i++) sys.sandbox.createOrder(account.storeHash, { totalIncTax: '5.5000', email: `w${i % 3}@example.com` });
  await sys.sandbox.delivery.idle();
  const accepted = sys.sandbox.delivery.log.slice(ok).filter((d) => d.status === 200);
  expect(accepted).toHaveLength(30); // the API took them with no worker running
  expect((await sys.state(id)).body.stats.ordersCredited).toBe(0);

  await sys.startWorker();
  const state = await ordersCredited(id, 30);
  expect(state.stats.ordersCredited).toBe(30);
  for (let c = 0; c < 3; c++) expect((await sys.contact(id, `w${c}@example.com`))!.balance).toBe(50);
});

test.concurrent("a merchant run started with Temporal's 10 s task timeout (before this version) hands its successor 60 s; new installs start with 60 s; one installed with another (MERCHANT_TASK_TIMEOUT) hands that on", async () => {
  const id = `tto-${Math.random().toString(36).slice(2, 7)}`;
  const account = sys.newStore();
  const workflowId = merchantWorkflowId(id);
  // As an install of an earlier version started it: no task timeout given.
  await sys.client.workflow.start(merchantWorkflow, {
    workflowId,
    taskQueue: sys.config.TEMPORAL_TASK_QUEUE,
    args: [{ merchantId: id, storeHash: account.storeHash, installedAt: Date.now(), historyLimit: 5_000, reconcileIntervalSeconds: 900 }],
  });
  await sys.installActive(id, account);
  const handle = sys.client.workflow.getHandle(workflowId);
  const taskTimeoutOf = async (runId?: string) => Number((await sys.client.workflow.getHandle(workflowId, runId).describe()).raw.executionConfig!.defaultWorkflowTaskTimeout!.seconds);
  expect(await taskTimeoutOf()).toBe(10);
  await handle.signal(continueAsNewRequestedSignal);
  await waitFor(async () => (((await handle.query('state')) as { counters: { runs: number } }).counters.runs === 2 ? true : undefined), 30_000, 'a second run');
  expect(await taskTimeoutOf()).toBe(60);
  sys.sandbox.createOrder(account.storeHash, { totalIncTax: '3.0000', email: 'tto@example.com' });
  await ordersCredited(id, 1);

  const fresh = `tto-new-${Math.random().toString(36).slice(2, 7)}`;
  await sys.installActive(fresh, sys.newStore());
  expect(Number((await sys.client.workflow.getHandle(merchantWorkflowId(fresh)).describe()).raw.executionConfig!.defaultWorkflowTaskTimeout!.seconds)).toBe(60);

  // As the API starts a merchant with MERCHANT_TASK_TIMEOUT=15 (ledger.test.ts installs with 10 through the API).
  const set = `tto-set-${Math.random().toString(36).slice(2, 7)}`;
  const setAccount = sys.newStore();
  const setId = merchantWorkflowId(set);
  await sys.client.workflow.start(merchantWorkflow, {
    workflowId: setId,
    taskQueue: sys.config.TEMPORAL_TASK_QUEUE,
    workflowTaskTimeout: '15s',
    args: [{ merchantId: set, storeHash: setAccount.storeHash, installedAt: Date.now(), historyLimit: 5_000, reconcileIntervalSeconds: 900, taskTimeoutSeconds: 15 }],
  });
  await sys.installActive(set, setAccount);
  const setHandle = sys.client.workflow.getHandle(setId);
  await setHandle.signal(continueAsNewRequestedSignal);
  await waitFor(async () => (((await setHandle.query('state')) as { counters: { runs: number } }).counters.runs === 2 ? true : undefined), 30_000, 'a second run');
  expect(Number((await sys.client.workflow.getHandle(setId).describe()).raw.executionConfig!.defaultWorkflowTaskTimeout!.seconds)).toBe(15);
});

test.concurrent('a full run whose only child still running is a redemption waiting for its coupon to expire goes 10 s after its last order, not after the 45 s kept for children at work', async () => {
  const id = `red-quiet-${Math.random().toString(36).slice(2, 7)}`;
  const account = sys.newStore();
  await sys.installActive(id, account);
  sys.sandbox.createOrder(account.storeHash, { totalIncTax: '100.0000', email: 'quiet@example.com' });
  const contact = await sys.balanceWhen(id, 'quiet@example.com', 100);
  const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
  const redeemed = await sys.request('POST', `/api/merchants/${id}/contacts/${contact.id}/redemptions`, { redemptionId: 'r-quiet', points: 10, reward: { type: 'amount_off', amount: '1.00' }, expiresAt });
  expect(redeemed.status).toBe(202);
  // The run that started the redemption fills up with orders (the bound is 150 events) and continues as new.
  for (let i = 0; i < 20; i++) sys.sandbox.createOrder(account.storeHash, { totalIncTax: '1.0000', email: `q${i}@example.com` });
  await ordersCredited(id, 21);
  const startedRedemption = (history: HistoryEvent[]) =>
    history.some((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId === `bigcommerce-redemption:${id}:r-quiet`);
  const events = await waitFor(async () => {
    for await (const run of sys.client.workflow.list({ query: `WorkflowId = "${merchantWorkflowId(id)}"` })) {
      const history = (await sys.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events ?? [];
      if (startedRedemption(history)) return history.some((e) => e.workflowExecutionContinuedAsNewEventAttributes) ? history : undefined;
    }
    return undefined;
  }, 60_000, 'the run that started the redemption to continue as new');
  // The redemption was still running when the run went (it waits for its coupon to expire)...
  const ends = events.filter((e) => e.childWorkflowExecutionCompletedEventAttributes);
  expect(ends.some((e) => e.childWorkflowExecutionCompletedEventAttributes!.workflowExecution!.workflowId!.startsWith('bigcommerce-redemption:'))).toBe(false);
  // ...and did not hold it as a child at work would: it went 10 s after its last child started or ended, not 45 s.
  const lastChildAt = Math.max(...events.filter((e) => e.childWorkflowExecutionStartedEventAttributes || e.childWorkflowExecutionCompletedEventAttributes).map(eventMs));
  const wentAfter = eventMs(events.find((e) => e.workflowExecutionContinuedAsNewEventAttributes)!) - lastChildAt;
  expect(wentAfter).toBeLessThan(30_000);
}, 120_000);
