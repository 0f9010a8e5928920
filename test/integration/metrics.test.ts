import { freePort } from '../../src/dev/servers';
import { registry } from '../../src/observability/metrics';
import { ingestGauge } from '../../src/worker/ingest-first';
import { startSystem, type System, waitFor } from '../helpers/system';
import { startWorkerProcess } from '../helpers/worker-process';

/** Prometheus metrics (CONTRACT §3 `/metrics`): the contract's counters, and the SDK's temporal_* series from a worker process. */
let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

/** A series' value; of a histogram, its `_count` or `_sum` (`suffix`). */
const value = async (name: string, labels: Record<string, string> = {}, suffix?: '_count' | '_sum') => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const match = metric?.values.find(
    (v) => (suffix === undefined || (v as { metricName?: string }).metricName === `${name}${suffix}`) && Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  );
  return match?.value ?? 0;
};

test('webhooks by scope and outcome, points credited and deducted, BigCommerce requests by status', async () => {
  const before = {
    accepted: await value('loyalty_webhooks_total', { scope: 'store/order/created', outcome: 'accepted' }),
    unauthorized: await value('loyalty_webhooks_total', { outcome: 'unauthorized' }),
    credited: await value('loyalty_points_credited_total'),
    deducted: await value('loyalty_points_deducted_total'),
    ok: await value('loyalty_bigcommerce_requests_total', { status: '200' }),
  };
  const id = `met-${Math.random().toString(36).slice(2, 8)}`;
  const account = sys.newStore();
  await sys.installActive(id, account);
  const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '40.0000', email: 'm@example.com' });
  await sys.balanceWhen(id, 'm@example.com', 40);
  sys.sandbox.createRefund(account.storeHash, order.id, 10);
  await sys.balanceWhen(id, 'm@example.com', 30);
  // The balance shows once the contact's posting is written; the refund's activity counts its points after its
  // stats posting, a few store round trips later: wait for that, not just for the balance.
  await waitFor(async () => ((await value('loyalty_points_deducted_total')) >= before.deducted + 10 ? true : undefined), 10_000, 'deducted points counted');
  const bad = await fetch(`${sys.api}/webhooks/bigcommerce/${id}`, { method: 'POST', body: '{}', headers: { 'X-Loyalty-Webhook-Secret': 'wrong' } });
  expect(bad.status).toBe(401);

  expect(await value('loyalty_webhooks_total', { scope: 'store/order/created', outcome: 'accepted' })).toBe(before.accepted + 1);
  expect(await value('loyalty_webhooks_total', { outcome: 'unauthorized' })).toBe(before.unauthorized + 1);
  expect(await value('loyalty_points_credited_total')).toBe(before.credited + 40);
  expect(await value('loyalty_points_deducted_total')).toBe(before.deducted + 10);
  expect(await value('loyalty_bigcommerce_requests_total', { status: '200' })).toBeGreaterThan(before.ok + 3);
  const text = await registry.metrics();
  expect(text).toContain('# TYPE loyalty_reconciliation_recovered_total counter');
});

test('loyalty_webhook_handoff_seconds, _signal_seconds, _signal_events: each accepted webhook timed once, each signal once with its events', async () => {
  const series = async () => {
    const accepted = (await registry.getMetricsAsJSON()).find((m) => m.name === 'loyalty_webhooks_total')?.values.filter((v) => v.labels.outcome === 'accepted') ?? [];
    return {
      accepted: accepted.reduce((sum, v) => sum + v.value, 0),
      handoffs: await value('loyalty_webhook_handoff_seconds', {}, '_count'),
      handoffSeconds: await value('loyalty_webhook_handoff_seconds', {}, '_sum'),
      signals: await value('loyalty_webhook_signal_seconds', {}, '_count'),
      signalBatches: await value('loyalty_webhook_signal_events', {}, '_count'),
      events: await value('loyalty_webhook_signal_events', {}, '_sum'),
    };
  };
  const before = await series();
  const id = `ack-${Math.random().toString(36).slice(2, 8)}`;
  const account = sys.newStore();
  await sys.installActive(id, account);
  for (let i = 0; i < 6; i++) sys.sandbox.createOrder(account.storeHash, { totalIncTax: '5.0000', email: 'ack@example.com' });
  await sys.balanceWhen(id, 'ack@example.com', 30);
  const bad = await fetch(`${sys.api}/webhooks/bigcommerce/${id}`, { method: 'POST', body: '{}', headers: { 'X-Loyalty-Webhook-Secret': 'wrong' } });
  expect(bad.status).toBe(401);
  const after = await series();

  const accepted = after.accepted - before.accepted;
  expect(accepted).toBeGreaterThanOrEqual(6); // the six orders' webhooks, and any status update the sandbox sent
  expect(after.handoffs - before.handoffs).toBe(accepted); // a refused webhook is not timed
  expect(after.handoffSeconds - before.handoffSeconds).toBeGreaterThan(0);
  expect(after.events - before.events).toBe(accepted); // every accepted event left in exactly one signal
  expect(after.signals - before.signals).toBe(after.signalBatches - before.signalBatches);
  expect(after.signals - before.signals).toBeGreaterThanOrEqual(1);
  expect(after.signals - before.signals).toBeLessThanOrEqual(accepted);
});

test('loyalty_bigcommerce_rate_wait_seconds: requests held for the store\'s rate-limit quota are timed, by priority', async () => {
  const live = async () => ({
    count: await value('loyalty_bigcommerce_rate_wait_seconds', { priority: 'live' }, '_count'),
    sum: await value('loyalty_bigcommerce_rate_wait_seconds', { priority: 'live' }, '_sum'),
  });
  const before = await live();
  // 10 requests per 2 s window, 8 of them ours (RATE_LIMIT_SHARE 0.8): the install and the fetches outrun it.
  const store = sys.sandbox.createStore({ rateLimit: { quota: 10, windowMs: 2_000 } });
  const account = sys.sandbox.createAccount(store.hash);
  const id = `rate-${Math.random().toString(36).slice(2, 7)}`;
  await sys.installActive(id, account);
  for (let i = 0; i < 5; i++) sys.sandbox.createOrder(account.storeHash, { totalIncTax: '1.0000', email: 'rate@example.com' });
  await sys.balanceWhen(id, 'rate@example.com', 5);
  const after = await live();
  const requests = sys.sandbox.requests(account.storeHash);
  expect(requests.filter((r) => r.status === 429)).toEqual([]); // held back, not refused
  expect(after.count - before.count).toBeGreaterThanOrEqual(requests.length);
  expect(after.sum - before.sum).toBeGreaterThan(0.5); // some waited for the next window
});

test('loyalty_webhook_pressure: 1 while 4 or more webhooks are in flight at once, 0 again once they are answered', async () => {
  const id = `pressure-${Math.random().toString(36).slice(2, 7)}`;
  const account = sys.newStore();
  await sys.installActive(id, account);
  const secret = sys.sandbox.hooks(account.storeHash)[0]!.headers['X-Loyalty-Webhook-Secret']!;
  expect(await value('loyalty_webhook_pressure')).toBe(0);
  const seen: number[] = [];
  const stop = ingestGauge.onChange(() => void value('loyalty_webhook_pressure').then((v) => seen.push(v)));
  try {
    const body = (n: number) => JSON.stringify({ scope: 'store/order/created', store_id: '1', data: { type: 'order', id: 700_000 + n }, hash: `p${n}`, created_at: 1, producer: `stores/${account.storeHash}` });
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, n) =>
        fetch(`${sys.api}/webhooks/bigcommerce/${id}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Loyalty-Webhook-Secret': secret }, body: body(n) }).then((r) => r.status),
      ),
    );
    expect(answers.every((s) => s === 200)).toBe(true);
    await waitFor(async () => ((await value('loyalty_webhook_pressure')) === 0 ? true : undefined), 5_000, 'pressure released');
    // One spell as a rule; two when a loaded machine lets the requests arrive in two waves 250 ms
    // (the gauge's quiet time) apart, as one full-suite run did. Each spell turns on, then off again.
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual(seen.map((_, i) => (i % 2 === 0 ? 1 : 0)));
  } finally {
    stop();
  }
});

test('a worker process serves its metrics and the Temporal SDK temporal_* series on METRICS_PORT', async () => {
  const port = await freePort();
  const worker = startWorkerProcess({ ...sys.env, METRICS_PORT: String(port), TEMPORAL_TASK_QUEUE: `metrics-${port}` });
  try {
    // The worker bundles its workflows at start (it runs from source): its event loop may not answer for a while, so each request is bounded.
    const text = await worker.whileRunning(
      waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
        const body = res ? await res.text().catch(() => '') : '';
        return body.includes('temporal_') ? body : undefined;
      }, 90_000, `worker metrics on :${port}`, 500),
    );
    expect(text).toMatch(/^temporal_\w+/m);
    expect(text).toContain('# TYPE loyalty_points_credited_total counter');
    expect(text).toContain('loyalty_process_cpu_seconds_total');
  } finally {
    await worker.stop();
  }
}, 120_000);
