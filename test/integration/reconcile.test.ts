import { BIGCOMMERCE_RETRY_SCHEDULE_S } from '../../src/sandbox/delivery';
import { startSystem, type System, uniqueId, waitFor } from '../helpers/system';

/** Rule 8: nothing is lost to a missing webhook; credentials rejected at any time; uninstall keeps what it acknowledged. */
const INTERVAL_S = 5;
let sys: System;
beforeAll(async () => {
  sys = await startSystem({ reconcileInterval: INTERVAL_S });
});
afterAll(async () => {
  await sys?.stop();
});

/** One interval, plus the time a sweep and the workflows it starts take. */
const WITHIN_ONE_INTERVAL = INTERVAL_S * 1000 + 15_000;

async function installed(prefix: string) {
  const id = uniqueId(prefix);
  const account = sys.newStore();
  await sys.installActive(id, account);
  return { id, account };
}

const balanceOf = (id: string, email: string, expected: number, timeoutMs = WITHIN_ONE_INTERVAL) => sys.balanceWhen(id, email, expected, timeoutMs);

async function stateWhen(id: string, ok: (s: any) => boolean, what: string, timeoutMs = WITHIN_ONE_INTERVAL): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return waitFor(async () => {
    const s = (await sys.state(id)).body;
    return ok(s) ? s : undefined;
  }, timeoutMs, what);
}

function lose<T>(fn: () => T): T {
  sys.sandbox.delivery.losing = true;
  try {
    return fn();
  } finally {
    sys.sandbox.delivery.losing = false;
  }
}

// Each test has its own merchant and store, so those marked test.concurrent run
// side by side, waiting for their sweeps together (the outage test compresses the
// retry schedule of its own store only). The others run alone, after them: the
// 500-order sweep takes both cores, and the uninstall test stops the worker.
describe('the reconciliation, every interval', () => {
  test.concurrent('missed webhooks: an order whose created and statusUpdated webhooks never arrive, and a refund whose webhook never arrives, are processed within one interval', async () => {
    const { id, account } = await installed('rec');
    const order = lose(() => sys.sandbox.createOrder(account.storeHash, { totalIncTax: '70.0000', email: 'lost@example.com' }));
    const incomplete = lose(() => sys.sandbox.createOrder(account.storeHash, { totalIncTax: '30.0000', email: 'late@example.com', statusId: 0 }));
    lose(() => sys.sandbox.setOrderStatus(account.storeHash, incomplete.id, 11));
    await balanceOf(id, 'lost@example.com', 70);
    await balanceOf(id, 'late@example.com', 30);

    lose(() => sys.sandbox.createRefund(account.storeHash, order.id, 35));
    const contact = await balanceOf(id, 'lost@example.com', 35);
    const txs = await sys.transactions(id, contact.id);
    expect(txs.map((t) => [t.type, t.points]).sort()).toEqual([
      ['order', 70],
      ['refund', -35],
    ]);
    const state = await stateWhen(id, (s) => s.reconciliation.refundsRecovered === 1, 'refund counted');
    expect(state.reconciliation).toMatchObject({ ordersRecovered: 2, refundsRecovered: 1, webhooksRepaired: 0 });
    expect(Date.parse(state.reconciliation.lastRunAt)).toBeGreaterThan(Date.now() - WITHIN_ONE_INTERVAL);
    // Further sweeps find nothing new: no transaction twice, counts unchanged.
    const before = state.reconciliation.lastRunAt;
    const later = await stateWhen(id, (s) => s.reconciliation.lastRunAt !== before, 'another sweep');
    expect(later.reconciliation).toMatchObject({ ordersRecovered: 2, refundsRecovered: 1 });
    expect(later.stats).toEqual({ ordersCredited: 2, refundsDeducted: 1 });
  });

  test.concurrent('missed webhooks: an Incomplete order waiting for its status, whose statusUpdated webhook never arrives, is woken by the sweep long before its own 60 s re-check', async () => {
    const { id, account } = await installed('wake');
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '40.0000', email: 'woken@example.com', statusId: 0 });
    const handle = sys.client.workflow.getHandle(`bigcommerce-order:${id}:${order.id}`);
    // Its created webhook arrived: the workflow fetched it Incomplete and waits on its re-check timer.
    await waitFor(async () => {
      const d = await handle.describe().catch(() => undefined);
      return d && d.status.name === 'RUNNING' && !d.raw.pendingWorkflowTask && d.historyLength > 5 ? true : undefined;
    }, 20_000, 'the order waiting for its status');
    lose(() => sys.sandbox.setOrderStatus(account.storeHash, order.id, 11));
    await balanceOf(id, 'woken@example.com', 40); // within one interval (20 s); its own re-check comes at 60 s
    expect(await handle.result()).toMatchObject({ outcome: 'credited' });
    const fetches = sys.sandbox.store(account.storeHash).requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/v2/orders/${order.id}`));
    expect(fetches).toHaveLength(2); // Incomplete when its webhook came, placed when the sweep woke it
  });

  test.concurrent('missed webhooks: an order whose workflow ended not_found is looked at again: the sweep credits it once it exists', async () => {
    const { id, account } = await installed('revive');
    // A created webhook for an order BigCommerce does not show yet (replication lag): its workflow ends not_found.
    const orderId = sys.sandbox.store(account.storeHash).nextOrderId;
    sys.sandbox.delivery.fire(sys.sandbox.store(account.storeHash), 'store/order/created', { type: 'order', id: orderId });
    expect(await sys.childResult(`bigcommerce-order:${id}:${orderId}`)).toEqual({ outcome: 'not_found' });
    const order = lose(() => sys.sandbox.createOrder(account.storeHash, { totalIncTax: '15.0000', email: 'revived@example.com' }));
    expect(order.id).toBe(orderId);
    await balanceOf(id, 'revived@example.com', 15);
    const runs: string[] = [];
    for await (const wf of sys.client.workflow.list({ query: `WorkflowId = "bigcommerce-order:${id}:${orderId}"` })) runs.push(wf.runId);
    expect(runs).toHaveLength(2);
    expect((await sys.state(id)).body.stats.ordersCredited).toBe(1);
  });

  test.concurrent('missed webhooks: an order delivered by webhook is not counted as recovered', async () => {
    const { id, account } = await installed('rec-ok');
    sys.sandbox.createOrder(account.storeHash, { totalIncTax: '10.0000', email: 'ok@example.com' });
    await balanceOf(id, 'ok@example.com', 10);
    const state = await stateWhen(id, (s) => s.reconciliation.lastRunAt !== null, 'a sweep');
    expect(state.reconciliation).toMatchObject({ ordersRecovered: 0, refundsRecovered: 0 });
  });

  test.concurrent('missed webhooks: deactivated and deleted hooks are repaired within one interval, with the secret header, and the state says what BigCommerce said', async () => {
    const { id, account } = await installed('hooks');
    const [created, refund] = ['store/order/created', 'store/order/refund/created'].map((scope) => sys.sandbox.hooks(account.storeHash).find((h) => h.scope === scope)!);
    sys.sandbox.deactivateHook(account.storeHash, created!.id);
    sys.sandbox.deleteHook(account.storeHash, refund!.id);
    const state = await stateWhen(id, (s) => s.reconciliation.webhooksRepaired === 2, 'hooks repaired');
    const hooks = sys.sandbox.hooks(account.storeHash);
    expect(hooks.filter((h) => h.is_active)).toHaveLength(3);
    const secret = hooks.find((h) => h.id === created!.id)!.headers['X-Loyalty-Webhook-Secret'];
    expect(hooks.every((h) => h.headers['X-Loyalty-Webhook-Secret'] === secret)).toBe(true);
    expect(state.webhooks.map((w: { id: number }) => w.id).sort()).toEqual(hooks.map((h) => h.id).sort());
    expect(state.webhooks.every((w: { isActive: boolean }) => w.isActive)).toBe(true);
    // The re-created hook delivers.
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '8.0000', email: 'after@example.com' });
    await balanceOf(id, 'after@example.com', 8);
    sys.sandbox.createRefund(account.storeHash, order.id, 8);
    await balanceOf(id, 'after@example.com', 0);
  });

  test.concurrent('credentials rejected at any time: a revoked token turns the merchant failed within one interval; orders wait without calling BigCommerce; a re-install credits them once', async () => {
    const { id, account } = await installed('revoked');
    sys.sandbox.revoke(account.accessToken);
    const failed = await stateWhen(id, (s) => s.status === 'failed', 'failed');
    expect(failed.lastError).toMatch(/access token/);

    const store = sys.sandbox.store(account.storeHash);
    const rejectedBefore = store.requests.filter((r) => r.status === 401).length;
    // Orders and a refund arrive while the merchant is failed; their webhooks still come.
    const orders = [1, 2, 3].map((i) => sys.sandbox.createOrder(account.storeHash, { totalIncTax: '20.0000', email: `wait${i}@example.com` }));
    await sys.sandbox.delivery.idle();
    await waitFor(async () => {
      const q = (await sys.client.workflow.getHandle(`bigcommerce-merchant:${id}`).query('state')) as { waitingForCredentials: number };
      return q.waitingForCredentials === 3 ? true : undefined;
    }, 30_000, 'three orders waiting');
    await new Promise((r) => setTimeout(r, INTERVAL_S * 1000 + 1000)); // an interval passes: no sweep while failed
    const rejectedAfter = store.requests.filter((r) => r.status === 401).length;
    expect(rejectedAfter - rejectedBefore).toBeLessThanOrEqual(1);
    expect((await sys.state(id)).body.stats.ordersCredited).toBe(0);

    const fresh = sys.sandbox.createAccount(account.storeHash);
    await sys.installActive(id, fresh);
    // The orders that waited finish in the workflows that waited: credited, once each.
    for (const o of orders) expect(await sys.childResult(`bigcommerce-order:${id}:${o.id}`)).toMatchObject({ outcome: 'credited' });
    for (let i = 1; i <= 3; i++) {
      const contact = await balanceOf(id, `wait${i}@example.com`, 20);
      expect(await sys.transactions(id, contact.id)).toHaveLength(1);
    }
    expect((await sys.state(id)).body.stats.ordersCredited).toBe(3);
  });

  test.concurrent('credentials rejected at any time: a scope withdrawn later turns the merchant failed naming it', async () => {
    const { id, account } = await installed('scope');
    sys.sandbox.setScopes(account.accessToken, ['store_v2_customers', 'store_v2_marketing', 'store_v2_transactions', 'store_v2_products', 'store_cart', 'store_checkout']);
    const failed = await stateWhen(id, (s) => s.status === 'failed', 'failed');
    expect(failed.missingScopes).toEqual(['orders']);
  });

  test.concurrent('missed webhooks: our API down longer than the whole retry schedule: hooks deactivated and repaired by the sweeps meanwhile, every order placed meanwhile credited once, the repaired hooks deliver once it returns', async () => {
    const { id, account } = await installed('outage');
    const before = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '40.0000', email: 'before@example.com' });
    await balanceOf(id, 'before@example.com', 40);
    // Our API is down: every delivery to it fails, while our worker (and its sweeps) and BigCommerce's
    // API go on. Each hook goes through BigCommerce's (compressed) 48 h of retries and is deactivated.
    const store = sys.sandbox.store(account.storeHash);
    store.receiverDown = true;
    store.deliveryTimeScale = 0.00001; // this store's 48 h of retries in about 2 s
    const orders = Array.from({ length: 6 }, (_, i) => sys.sandbox.createOrder(account.storeHash, { totalIncTax: '5.0000', email: `o${i}@example.com` }));
    sys.sandbox.createRefund(account.storeHash, before.id, 10); // a refund webhook and a status webhook, lost too
    await sys.sandbox.delivery.idle(account.storeHash);
    delete store.deliveryTimeScale;
    // Every hook failed its last retry, so BigCommerce deactivated it (a sweep may have repaired it since).
    const hooks = sys.sandbox.hooks(account.storeHash).map((h) => h.id);
    const lastRetry = BIGCOMMERCE_RETRY_SCHEDULE_S.length;
    const died = sys.sandbox.delivery.log.filter((d) => hooks.includes(d.hookId) && d.attempt === lastRetry && d.status === 'network-error');
    expect(new Set(died.map((d) => d.hookId))).toEqual(new Set(hooks));
    // Once each, nearly always: a hook's other deliveries stop when it dies. Should a sweep repair it
    // between two of them, it dies again, and is repaired again.
    const deaths = died.length;

    // The sweeps repair the hooks and recover what they missed while our API is still down.
    const recovered = await stateWhen(
      id,
      (s) => s.stats.ordersCredited === orders.length + 1 && s.stats.refundsDeducted === 1 && s.reconciliation.webhooksRepaired === deaths,
      'all credited, hooks repaired',
    );
    expect(recovered.reconciliation).toMatchObject({ ordersRecovered: orders.length, refundsRecovered: 1 });
    expect(sys.sandbox.hooks(account.storeHash).every((h) => h.is_active)).toBe(true);
    for (let i = 0; i < orders.length; i++) await balanceOf(id, `o${i}@example.com`, 5);
    await balanceOf(id, 'before@example.com', 30);

    // We are back: the repaired hooks deliver the next order, and nothing is counted twice.
    store.receiverDown = false;
    const backAt = Date.now();
    const after = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '7.0000', email: 'after@example.com' });
    await balanceOf(id, 'after@example.com', 7);
    expect(sys.sandbox.delivery.log.filter((d) => d.scope === 'store/order/created' && hooks.includes(d.hookId) && d.at >= backAt).map((d) => d.status)).toEqual([200]);
    expect(await sys.childResult(`bigcommerce-order:${id}:${after.id}`)).toMatchObject({ outcome: 'credited' });
    const state = (await sys.state(id)).body;
    expect(state.stats).toMatchObject({ ordersCredited: orders.length + 2, refundsDeducted: 1 });
    expect(state.reconciliation).toMatchObject({ ordersRecovered: orders.length, refundsRecovered: 1, webhooksRepaired: deaths });
  });

  test('missed webhooks: 500 missed orders are recovered by one sweep with no 429, never more than 80 % of the quota in a window, and one fetch each', async () => {
    const id = uniqueId('bulk');
    const account = sys.newStore();
    const store = sys.sandbox.store(account.storeHash);
    store.rate = { quota: 300, windowMs: 3_000, windowStart: Date.now(), used: 0 };
    await sys.installActive(id, account);
    lose(() => {
      for (let i = 0; i < 500; i++) sys.sandbox.createOrder(account.storeHash, { totalIncTax: '1.0000', email: `bulk${i % 50}@example.com` });
    });
    const state = await stateWhen(id, (s) => s.stats.ordersCredited === 500, '500 credited', 120_000);
    expect(state.reconciliation.ordersRecovered).toBe(500);
    const log = store.requests;
    expect(log.filter((r) => r.status === 429)).toHaveLength(0);
    const perWindow = new Map<number, number>();
    for (const r of log) if (r.windowStart !== undefined) perWindow.set(r.windowStart, (perWindow.get(r.windowStart) ?? 0) + 1);
    expect(Math.max(...perWindow.values())).toBeLessThanOrEqual(0.8 * 300);
    expect(perWindow.size).toBeGreaterThan(2); // 500 fetches did not fit in one window's share
    // One fetch per order: the sweeps that run while the backlog drains leave its busy workflows alone
    // (a wake signal during a task that credits would fail that task, and its retry fetch again).
    const fetches = new Map<string, number>();
    for (const r of log) if (r.method === 'GET' && /\/v2\/orders\/\d+$/.test(r.path)) fetches.set(r.path, (fetches.get(r.path) ?? 0) + 1);
    expect(fetches.size).toBe(500);
    expect([...fetches.values()].filter((n) => n > 1)).toEqual([]);
  }, 180_000);
});

describe('uninstall', () => {
  test('events acknowledged with 200 while no worker ran are credited before the merchant is uninstalled', async () => {
    const { id, account } = await installed('uninst');
    await sys.stopWorkerWhenSettled(`bigcommerce-merchant:${id}`);
    try {
      for (let i = 0; i < 5; i++) sys.sandbox.createOrder(account.storeHash, { totalIncTax: '3.0000', email: `ack${i}@example.com` });
      await sys.sandbox.delivery.idle();
      const acked = sys.sandbox.delivery.log.filter((d) => d.scope === 'store/order/created' && d.status === 200);
      expect(acked.length).toBeGreaterThanOrEqual(5);
      expect((await sys.request('DELETE', `/api/merchants/${id}/bigcommerce`)).status).toBe(202);
    } finally {
      await sys.startWorker();
    }
    // A task the stopped worker had taken is retried after the merchant workflow's 60 s task timeout.
    await stateWhen(id, (s) => s.status === 'uninstalled', 'uninstalled', 90_000);
    for (let i = 0; i < 5; i++) await balanceOf(id, `ack${i}@example.com`, 3, 30_000);
    expect(sys.sandbox.hooks(account.storeHash)).toHaveLength(0);
  });
});
