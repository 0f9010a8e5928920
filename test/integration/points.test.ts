import { Webhook } from 'standardwebhooks';
import type { SandboxAccount } from '../../src/sandbox/sandbox';
import { installRequestedSignal, merchantWorkflowId } from '../../src/workflows/messages';
import { startSystem, type System, waitFor } from '../helpers/system';

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

let seq = 0;
async function installedMerchant(extra: Record<string, unknown> = {}): Promise<{ id: string; account: SandboxAccount }> {
  const id = `pts-${++seq}-${Math.random().toString(36).slice(2, 7)}`;
  const account = sys.newStore();
  await sys.installActive(id, account, extra);
  return { id, account };
}

// Each test installs its own merchant on its own store, so they run side by side
// (test.concurrent); the one that has every webhook sent three times runs alone.
describe('earning', () => {
  test.concurrent('an order of 123.4500 credits 123 points at rate 1 to the billing email, trimmed and lower-cased', async () => {
    const { id, account } = await installedMerchant();
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '123.4500', email: '  Ann@Example.COM ', customerId: 42 });
    const result = await sys.childResult(`bigcommerce-order:${id}:${order.id}`);
    expect(result).toMatchObject({ outcome: 'credited', credit: { points: 123 } });
    const contact = await sys.balanceWhen(id, 'ann@example.com', 123);
    expect(contact).toMatchObject({ email: 'ann@example.com', bigcommerceCustomerId: 42 });
    const txs = await sys.transactions(id, contact.id);
    expect(txs).toEqual([expect.objectContaining({ type: 'order', orderId: order.id, refundId: null, amount: '123.4500', points: 123 })]);
  });

  test.concurrent('at rate 2.5 the same order credits 308', async () => {
    const { id, account } = await installedMerchant({ pointsPerCurrencyUnit: 2.5 });
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '123.4500', email: 'bo@example.com' });
    await sys.childResult(`bigcommerce-order:${id}:${order.id}`);
    await sys.balanceWhen(id, 'bo@example.com', 308);
  });

  test('the same created webhook delivered three times (same hash) writes one transaction', async () => {
    const { id, account } = await installedMerchant();
    sys.sandbox.delivery.copies = 3;
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '50.0000', email: 'dup@example.com' });
    await sys.sandbox.delivery.idle();
    sys.sandbox.delivery.copies = 1;
    const deliveries = sys.sandbox.delivery.log.filter((d) => d.scope === 'store/order/created' && d.status === 200);
    const forOrder = deliveries.slice(-3);
    expect(new Set(forOrder.map((d) => d.hash)).size).toBe(1);
    await sys.childResult(`bigcommerce-order:${id}:${order.id}`);
    const contact = await sys.balanceWhen(id, 'dup@example.com', 50);
    expect(await sys.transactions(id, contact.id)).toHaveLength(1);
    const state = await sys.client.workflow.getHandle(`bigcommerce-merchant:${id}`).query('state');
    expect(state).toMatchObject({ counters: { ordersStarted: 1, duplicateEvents: 2 } });
  });

  test.concurrent('a guest order (customer_id 0) makes a contact with bigcommerceCustomerId null', async () => {
    const { id, account } = await installedMerchant();
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '10.0000', email: 'guest@example.com', customerId: 0 });
    await sys.childResult(`bigcommerce-order:${id}:${order.id}`);
    expect(await sys.balanceWhen(id, 'guest@example.com', 10)).toMatchObject({ bigcommerceCustomerId: null });
  });

  test.concurrent('an incomplete order credits nothing; once Awaiting Fulfillment it is credited once', async () => {
    const { id, account } = await installedMerchant();
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '77.0000', email: 'slow@example.com', statusId: 0 });
    const handle = sys.client.workflow.getHandle(`bigcommerce-order:${id}:${order.id}`);
    await waitFor(async () => (await handle.describe()).status.name === 'RUNNING', 30_000, 'order workflow running');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await sys.contact(id, 'slow@example.com')).toBeUndefined();
    sys.sandbox.setOrderStatus(account.storeHash, order.id, 11);
    expect(await handle.result()).toMatchObject({ outcome: 'credited', credit: { points: 77 } });
    const contact = await sys.balanceWhen(id, 'slow@example.com', 77);
    sys.sandbox.setOrderStatus(account.storeHash, order.id, 10);
    await sys.sandbox.delivery.idle();
    await new Promise((r) => setTimeout(r, 500));
    expect(await sys.transactions(id, contact.id)).toHaveLength(1);
  });

  test.concurrent('orders paid at checkout (created Incomplete, statusUpdated 0 → 11 in the same second) are fetched once each: no wake meets the task that credits them', async () => {
    const { id, account } = await installedMerchant();
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      // As BigCommerce sends them: `created` at status 0, then `statusUpdated` 0 → 11.
      const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '5.0000', email: 'checkout@example.com', statusId: 0 });
      sys.sandbox.setOrderStatus(account.storeHash, order.id, 11);
      ids.push(order.id);
      await new Promise((r) => setTimeout(r, 50));
    }
    await sys.balanceWhen(id, 'checkout@example.com', 100, 60_000);
    for (const orderId of ids) expect(await sys.childResult(`bigcommerce-order:${id}:${orderId}`)).toMatchObject({ outcome: 'credited' });
    const fetches = sys.sandbox.store(account.storeHash).requests.filter((r) => r.method === 'GET' && /\/v2\/orders\/\d+$/.test(r.path));
    expect(fetches.map((r) => r.path).sort()).toEqual(ids.map((o) => `/v2/orders/${o}`).sort());
    // Each order's workflow had seen it placed and ended before its wake was due: none was sent.
    const history = await sys.client.workflow.getHandle(merchantWorkflowId(id)).fetchHistory();
    expect(history.events!.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)).toEqual([]);
  }, 90_000);

  test.concurrent('an incomplete order that is cancelled credits nothing', async () => {
    const { id, account } = await installedMerchant();
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '20.0000', email: 'gone@example.com', statusId: 0 });
    const handle = sys.client.workflow.getHandle(`bigcommerce-order:${id}:${order.id}`);
    await waitFor(async () => (await handle.describe()).status.name === 'RUNNING', 30_000, 'order workflow running');
    // BigCommerce moves it 0 → 5 and signals statusUpdated; the order's workflow re-checks and stops.
    sys.sandbox.setOrderStatus(account.storeHash, order.id, 5);
    expect(await handle.result()).toEqual({ outcome: 'cancelled' });
    expect(await sys.contact(id, 'gone@example.com')).toBeUndefined();
  });

  test.concurrent('status changed to Refunded or Partially Refunded changes nothing', async () => {
    const { id, account } = await installedMerchant();
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '40.0000', email: 'status@example.com' });
    await sys.childResult(`bigcommerce-order:${id}:${order.id}`);
    sys.sandbox.setOrderStatus(account.storeHash, order.id, 14);
    sys.sandbox.setOrderStatus(account.storeHash, order.id, 4);
    await sys.sandbox.delivery.idle();
    await waitFor(async () => {
      const s = await sys.client.workflow.getHandle(`bigcommerce-merchant:${id}`).query('state');
      return (s as { counters: { statusUpdates: number } }).counters.statusUpdates === 2;
    });
    const contact = await sys.balanceWhen(id, 'status@example.com', 40);
    expect(await sys.transactions(id, contact.id)).toHaveLength(1);
  });
});

describe('refunds', () => {
  async function creditedOrder(total: string, email: string) {
    const { id, account } = await installedMerchant();
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: total, email });
    await sys.childResult(`bigcommerce-order:${id}:${order.id}`);
    return { id, account, order };
  }

  test.concurrent('a 50% refund deducts half the points', async () => {
    const { id, account, order } = await creditedOrder('100.0000', 'half@example.com');
    const refund = sys.sandbox.createRefund(account.storeHash, order.id, 50);
    expect(await sys.childResult(`bigcommerce-refund:${id}:${refund.id}`)).toMatchObject({ outcome: 'deducted', points: -50 });
    const contact = await sys.balanceWhen(id, 'half@example.com', 50);
    const txs = await sys.transactions(id, contact.id);
    expect(txs[0]).toMatchObject({ type: 'refund', refundId: refund.id, orderId: order.id, points: -50, amount: '50.0000' });
  });

  test.concurrent('three partial refunds that add up to the total deduct exactly all points', async () => {
    const { id, account, order } = await creditedOrder('100.0000', 'thirds@example.com');
    // 33.33 + 33.33 + 33.34: each rounds, the last makes the sum exact.
    const refunds = [33.33, 33.33, 33.34].map((a) => sys.sandbox.createRefund(account.storeHash, order.id, a));
    const results = await Promise.all(refunds.map((r) => sys.childResult(`bigcommerce-refund:${id}:${r.id}`)));
    expect(results.map((r) => (r as { points: number }).points)).toEqual([-33, -34, -33]);
    await sys.balanceWhen(id, 'thirds@example.com', 0);
  });

  test.concurrent('a full refund deducts all the points', async () => {
    const { id, account, order } = await creditedOrder('61.9900', 'full@example.com');
    const refund = sys.sandbox.createRefund(account.storeHash, order.id, 61.99);
    expect(await sys.childResult(`bigcommerce-refund:${id}:${refund.id}`)).toMatchObject({ points: -61 });
    await sys.balanceWhen(id, 'full@example.com', 0);
  });

  test.concurrent('a refund whose order created event never arrived credits the order, then deducts', async () => {
    const { id, account } = await installedMerchant();
    const createdHook = sys.sandbox.hooks(account.storeHash).find((h) => h.scope === 'store/order/created')!;
    sys.sandbox.deactivateHook(account.storeHash, createdHook.id); // the created event is lost
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '80.0000', email: 'lost@example.com' });
    const refund = sys.sandbox.createRefund(account.storeHash, order.id, 20);
    expect(await sys.childResult(`bigcommerce-refund:${id}:${refund.id}`)).toMatchObject({ outcome: 'deducted', points: -20 });
    const contact = await sys.balanceWhen(id, 'lost@example.com', 60);
    const txs = await sys.transactions(id, contact.id);
    expect(txs.map((t) => [t.type, t.points]).sort()).toEqual([
      ['order', 80],
      ['refund', -20],
    ]);
  });

  test.concurrent('a refund of an order placed before the install deducts nothing', async () => {
    const id = `pts-old-${Math.random().toString(36).slice(2, 7)}`;
    const account = sys.newStore();
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '30.0000', email: 'old@example.com', dateCreated: new Date(Date.now() - 86_400_000) });
    await sys.installActive(id, account);
    const refund = sys.sandbox.createRefund(account.storeHash, order.id, 30);
    expect(await sys.childResult(`bigcommerce-refund:${id}:${refund.id}`)).toEqual({ outcome: 'nothing_credited' });
    expect(await sys.contact(id, 'old@example.com')).toBeUndefined();
  });
});

describe('read routes', () => {
  test('contacts match the email case-insensitively; transactions come newest first, page by page with a cursor', async () => {
    const { id, account } = await installedMerchant();
    const orders = [];
    for (let i = 1; i <= 5; i++) {
      const o = sys.sandbox.createOrder(account.storeHash, { totalIncTax: `${i}.0000`, email: 'Pager@Example.com' });
      orders.push(o);
      await sys.childResult(`bigcommerce-order:${id}:${o.id}`); // one at a time: distinct write times
    }
    const contact = await sys.balanceWhen(id, 'PAGER@example.COM', 15);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await sys.request('GET', `/api/merchants/${id}/contacts/${contact.id}/transactions?limit=2${q}`);
      expect(res.status).toBe(200);
      expect(res.body.transactions.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.transactions.map((t: { orderId: number }) => t.orderId));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(orders.map((o) => o.id).reverse());
    expect((await sys.request('GET', `/api/merchants/${id}/contacts/${contact.id}/transactions?cursor=garbage`)).status).toBe(400);
    expect((await sys.request('GET', `/api/merchants/${id}/contacts/${contact.id}/transactions?limit=0`)).status).toBe(400);
    expect((await sys.request('GET', `/api/merchants/${id}/contacts/ffffffffffffffffffffffff/transactions`)).status).toBe(404);
    expect((await sys.request('GET', `/api/merchants/${id}/contacts`)).status).toBe(400);
    expect((await sys.request('GET', `/api/merchants/nobody/contacts?email=a@b.c`)).status).toBe(404);
  });
});

describe('the webhook route', () => {
  test.concurrent('wrong secret → 401 and nothing happens; malformed body → 400; unknown merchant → 404; oversized → 413; other scopes → 200 ignored', async () => {
    const { id, account } = await installedMerchant();
    const secret = sys.sandbox.hooks(account.storeHash)[0]!.headers['X-Loyalty-Webhook-Secret']!;
    const body = { scope: 'store/order/created', store_id: '1', data: { type: 'order', id: 999 }, hash: 'abc', created_at: 1, producer: `stores/${account.storeHash}` };
    const post = (path: string, payload: unknown, headers: Record<string, string> = {}) =>
      fetch(`${sys.api}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof payload === 'string' ? payload : JSON.stringify(payload) });

    /** Status and error code of an answer (the API's one error body, CONTRACT §3). */
    const answer = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code });
    const auth = { 'X-Loyalty-Webhook-Secret': secret };
    expect(await answer(await post(`/webhooks/bigcommerce/${id}`, body, { 'X-Loyalty-Webhook-Secret': 'wrong' }))).toEqual({ status: 401, code: 'unauthorized' });
    expect(await answer(await post(`/webhooks/bigcommerce/${id}`, body))).toEqual({ status: 401, code: 'unauthorized' });
    expect(await answer(await post(`/webhooks/bigcommerce/${id}`, '{"scope":', auth))).toEqual({ status: 400, code: 'malformed_json' });
    expect(await answer(await post(`/webhooks/bigcommerce/${id}`, { scope: 'store/order/created' }, auth))).toEqual({ status: 400, code: 'validation_failed' });
    expect(await answer(await post(`/webhooks/bigcommerce/${id}`, { ...body, data: { id: -1 } }, auth))).toEqual({ status: 400, code: 'validation_failed' });
    expect(await answer(await post(`/webhooks/bigcommerce/${id}`, { ...body, producer: 'stores/someoneelse' }, auth))).toEqual({ status: 400, code: 'wrong_store' });
    expect(await answer(await post(`/webhooks/bigcommerce/nobody-here`, body, auth))).toEqual({ status: 404, code: 'not_found' });
    expect(await answer(await post(`/webhooks/bigcommerce/not%20an%20id`, body, auth))).toEqual({ status: 404, code: 'not_found' });
    expect(await answer(await post(`/webhooks/bigcommerce/${id}`, { ...body, pad: 'x'.repeat(100_000) }, auth))).toEqual({ status: 413, code: 'payload_too_large' });
    expect(await answer(await post(`/webhooks/bigcommerce/${id}`, body, { ...auth, 'Content-Encoding': 'gzip' }))).toEqual({ status: 415, code: 'unsupported_encoding' });
    // The route's other methods are no route at all.
    expect(await answer(await fetch(`${sys.api}/webhooks/bigcommerce/${id}`))).toEqual({ status: 404, code: 'not_found' });
    const ignored = await post(`/webhooks/bigcommerce/${id}`, { ...body, scope: 'store/product/updated' }, auth);
    expect(ignored.status).toBe(200);
    expect(ignored.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await ignored.json()).toEqual({ status: 'ignored', scope: 'store/product/updated' });
    // A trailing slash and a query string are the same route, as Express's routes allow them.
    expect(await (await post(`/webhooks/bigcommerce/${id}/?from=test`, { ...body, scope: 'store/cart/created' }, auth)).json()).toEqual({ status: 'ignored', scope: 'store/cart/created' });
    const bad = await post(`/webhooks/bigcommerce/${id}`, body, { ...auth, 'webhook-id': 'x', 'webhook-timestamp': '1', 'webhook-signature': 'v1,bad' });
    expect(await answer(bad)).toEqual({ status: 401, code: 'bad_signature' });

    const state = await sys.client.workflow.getHandle(`bigcommerce-merchant:${id}`).query('state');
    expect(state).toMatchObject({ counters: { eventsReceived: 0 } });
  });

  test.concurrent('an installed merchant whose workflow is not running → 503 not_running, so BigCommerce delivers the event again later', async () => {
    const { id, account } = await installedMerchant();
    const secret = sys.sandbox.hooks(account.storeHash)[0]!.headers['X-Loyalty-Webhook-Secret']!;
    const handle = sys.client.workflow.getHandle(merchantWorkflowId(id));
    await handle.terminate('test: the workflow is gone while the record says installed');
    const res = await fetch(`${sys.api}/webhooks/bigcommerce/${id}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Loyalty-Webhook-Secret': secret },
      body: JSON.stringify({ scope: 'store/order/created', store_id: '1', data: { type: 'order', id: 4242 }, hash: 'nr-4242', created_at: 1, producer: `stores/${account.storeHash}` }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_running');
    expect((await handle.describe()).status.name).toBe('TERMINATED');
  });

  test.concurrent('the merchant record is cached, but never has the last word against a caller: a new client secret verifies at once, an uninstall answers 404', async () => {
    const { id, account } = await installedMerchant();
    const secret = sys.sandbox.hooks(account.storeHash)[0]!.headers['X-Loyalty-Webhook-Secret']!;
    let order = 900_000;
    const signed = (clientSecret: string) => {
      const body = JSON.stringify({ scope: 'store/order/created', store_id: '1', data: { type: 'order', id: ++order }, hash: `c${order}`, created_at: 1, producer: `stores/${account.storeHash}` });
      const msgId = `msg_${order}`;
      const at = new Date();
      const headers = {
        'Content-Type': 'application/json',
        'X-Loyalty-Webhook-Secret': secret,
        'webhook-id': msgId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(Buffer.from(clientSecret).toString('base64')).sign(msgId, at, body),
      };
      return fetch(`${sys.api}/webhooks/bigcommerce/${id}`, { method: 'POST', headers, body }).then((r) => r.status);
    };
    expect(await signed(account.clientSecret)).toBe(200); // now cached

    // Re-installed with another API account through another API replica: this process's cache still holds the first.
    const other = sys.sandbox.createAccount(account.storeHash, {});
    const record = (await sys.store.merchants.get(id))!;
    const saved = await sys.store.merchants.saveInstall({ merchantId: id, storeHash: account.storeHash, apiBase: record.apiBase, clientId: other.clientId, name: null, accessToken: other.accessToken, clientSecret: other.clientSecret, pointsPerCurrencyUnit: '1.0000' });
    const handle = sys.client.workflow.getHandle(merchantWorkflowId(id));
    await handle.signal(installRequestedSignal, { generation: saved.installGeneration, storeHash: account.storeHash });
    // Served before the secrets are tried: the re-install is active under its new generation.
    await waitFor(async () => {
      const state = (await handle.query('state')) as { generation: number; status: string };
      return state.generation === saved.installGeneration && state.status === 'active' ? true : undefined;
    }, 30_000, 'the re-install served');
    expect(await signed(other.clientSecret)).toBe(200);
    expect(await signed(account.clientSecret)).toBe(401);

    // Uninstalled: once its workflow has ended, the cached record does not make it a 503.
    expect((await sys.request('DELETE', `/api/merchants/${id}/bigcommerce`)).status).toBe(202);
    await waitFor(async () => ((await sys.state(id)).body.status === 'uninstalled' ? true : undefined), 30_000, 'uninstalled');
    await waitFor(async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined), 30_000, 'workflow ended');
    expect(await signed(other.clientSecret)).toBe(404);
  });
});
