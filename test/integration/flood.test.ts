import { startSystem, type System, waitFor } from '../helpers/system';

/**
 * Issue "throughput": a flood of order webhooks for one merchant while no worker
 * runs. Each webhook is answered 200, the route coalesces them into a few dozen
 * signals (a signal per webhook would reach the server's 10,000-signal cap of a run
 * long before the 12,000, which `npm run bench:scale` sends), and every
 * order is credited once after the worker returns. The merchant runs at the
 * product's history limit, as a merchant does in production; the durability test
 * takes 200 orders through many runs of a low one.
 */
let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

test('a flood of webhooks while no worker runs: signals coalesce, so the run stays far below the signal cap; all credited once afterwards', async () => {
  const id = `flood-${Math.random().toString(36).slice(2, 7)}`;
  const account = sys.newStore();
  await sys.installActive(id, account);
  await sys.stopWorkerWhenSettled(`bigcommerce-merchant:${id}`);
  const handle = sys.client.workflow.getHandle(`bigcommerce-merchant:${id}`);
  const signalsBefore = (await handle.fetchHistory()).events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  // 300 webhooks show the coalescing; the 12,000 of the issue are `npm run bench:scale`'s.
  const FLOOD = 300;
  const delivered = sys.sandbox.delivery.log.length;
  for (let i = 0; i < FLOOD; i++) sys.sandbox.createOrder(account.storeHash, { totalIncTax: '1.0000', email: `f${i % 10}@example.com` });
  await sys.sandbox.delivery.idle();
  const answers = sys.sandbox.delivery.log.slice(delivered);
  expect(answers.filter((d) => d.scope === 'store/order/created' && d.status === 200)).toHaveLength(FLOOD); // each answered 200 with no worker running
  // Signals that arrive while a workflow task is in flight (the stopped worker's last one, until it
  // times out) are buffered by the server and reach the history only when that task ends.
  const signals = await waitFor(async () => {
    const history = await handle.fetchHistory();
    const n = history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length - signalsBefore;
    return n > 0 ? n : undefined;
  }, 30_000, 'the flood\'s signals in the history');
  // How many events a signal carries depends on how fast this process takes the flood in: the route
  // sends one signal per linger (5 ms) or per free slot, so a slower machine makes more, smaller
  // signals (70-110 here for 300 webhooks on 2026-11-28, the test process at full CPU for 1.0-1.9 s).
  // The bound is the one the product needs with room to spare: at fewer than one signal for two
  // webhooks, the 12,000 reach a run as fewer than 6,000 signals, under the server's cap of
  // 10,000 and the contract's 10,000 events (`bench:scale` counts them: 454 in the third session).
  // One signal per webhook (300) fails it.
  expect(signals).toBeLessThan(FLOOD / 2);
  await sys.startWorker();
  const state = await waitFor(async () => {
    const s = await sys.state(id);
    return s.body.stats.ordersCredited === FLOOD ? s.body : undefined;
  }, 180_000, `${FLOOD} orders credited`);
  expect(state.stats.ordersCredited).toBe(FLOOD);
  let balances = 0;
  for (let c = 0; c < 10; c++) balances += (await sys.contact(id, `f${c}@example.com`))!.balance;
  expect(balances).toBe(FLOOD); // one point per order, each credited once
  // Every run of the chain below the contract's 10,000 events, as the server counts them (describe();
  // the visibility store does not keep a running run's length).
  let events = 0;
  for await (const run of sys.client.workflow.list({ query: `WorkflowId = "bigcommerce-merchant:${id}"` })) {
    const { historyLength } = await sys.client.workflow.getHandle(run.workflowId, run.runId).describe();
    expect(historyLength).toBeLessThan(10_000);
    events += historyLength;
  }
  expect(events).toBeGreaterThan(2 * FLOOD); // the runs that started the flood's orders, each start two events
}, 240_000);
