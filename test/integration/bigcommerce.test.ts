import { BigCommerceClient } from '../../src/bigcommerce/client';
import { RateLimitedError, TransientError, UnauthorizedError } from '../../src/bigcommerce/errors';
import { REQUIRED_SCOPES } from '../../src/bigcommerce/scopes';
import { type Sandbox, startSandbox } from '../../src/sandbox/sandbox';

/** The sandbox reproduces BigCommerce's quirks (BIGCOMMERCE.md), and the client handles each. */
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ rateLimit: { quota: 1000, windowMs: 30_000 } });
});
afterAll(async () => {
  await sandbox.close();
});

function account(opts?: Parameters<Sandbox['createAccount']>[1], rateLimit?: { quota: number; windowMs: number }) {
  const store = sandbox.createStore({ rateLimit });
  const a = sandbox.createAccount(store.hash, opts);
  const base = `${sandbox.url}/stores/${store.hash}`;
  const raw = (path: string, init: RequestInit = {}) =>
    fetch(base + path, { ...init, headers: { 'X-Auth-Token': a.accessToken, Accept: 'application/json', 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  return { store, a, raw, client: new BigCommerceClient({ apiBase: base, accessToken: a.accessToken, timeoutMs: 2_000 }) };
}

describe('sandbox: BigCommerce as documented', () => {
  test('v2 lists answer 204 with an empty body when nothing matches; 200 with an array otherwise', async () => {
    const { store, raw } = account();
    const empty = await raw('/v2/orders?limit=1');
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
    sandbox.createOrder(store.hash, { totalIncTax: '1.0000', email: 'x@example.com' });
    const list = await raw('/v2/orders?limit=1');
    expect(list.status).toBe(200);
    expect(await list.json()).toHaveLength(1);
  });

  test('orders are v2-shaped: 4-decimal strings, RFC 2822 dates, customer 0 for guests', async () => {
    const { store, raw } = account();
    const o = sandbox.createOrder(store.hash, { totalIncTax: '361.95', email: 'g@example.com' });
    const body = (await (await raw(`/v2/orders/${o.id}`)).json()) as Record<string, unknown>;
    expect(body.total_inc_tax).toBe('361.9500');
    expect(body.customer_id).toBe(0);
    expect(body.date_created).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    expect((await raw('/v2/orders/999999')).status).toBe(404);
    expect(await (await raw('/v2/orders/999999')).json()).toEqual([{ status: 404, message: expect.any(String) }]);
  });

  test('401 for a bad token, 403 with the v3 body for a missing scope', async () => {
    const { raw } = account({ without: ['customers'] });
    const unauthorized = await raw('/v3/customers?limit=1', { headers: { 'X-Auth-Token': 'nope' } });
    expect(unauthorized.status).toBe(401);
    const forbidden = await raw('/v3/customers?limit=1');
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ status: 403, title: "You don't have a required scope to access the endpoint" });
  });

  test('a read-only marketing scope cannot modify: the modify probe says missing', async () => {
    const { client } = account({ scopes: ['store_v2_marketing_read_only', 'store_v2_orders'] });
    expect(await client.hasScope('marketing')).toBe(false);
    expect(await client.hasScope('orders')).toBe(true);
  });

  test('every response carries the rate-limit headers; over quota a 429 with X-Retry-After', async () => {
    const { raw } = account(undefined, { quota: 3, windowMs: 2_000 });
    const first = await raw('/v3/catalog/products?limit=1');
    for (const h of ['X-Rate-Limit-Time-Window-Ms', 'X-Rate-Limit-Time-Reset-Ms', 'X-Rate-Limit-Requests-Quota', 'X-Rate-Limit-Requests-Left']) {
      expect(first.headers.get(h)).not.toBeNull();
    }
    expect(first.headers.get('X-Rate-Limit-Requests-Left')).toBe('2');
    await raw('/v3/catalog/products?limit=1');
    await raw('/v3/catalog/products?limit=1');
    const limited = await raw('/v3/catalog/products?limit=1');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('X-Retry-After'))).toBeGreaterThanOrEqual(1);
  });

  test('hooks: one per store + client + scope + destination; each client sees its own', async () => {
    const { store, raw } = account();
    const other = sandbox.createAccount(store.hash);
    const hook = { scope: 'store/order/created', destination: 'https://example.com/h', is_active: true, headers: { a: 'b' } };
    expect((await raw('/v3/hooks', { method: 'POST', body: JSON.stringify(hook) })).status).toBe(200);
    expect((await raw('/v3/hooks', { method: 'POST', body: JSON.stringify(hook) })).status).toBe(422);
    const theirs = await raw('/v3/hooks', { method: 'POST', body: JSON.stringify(hook), headers: { 'X-Auth-Token': other.accessToken } });
    expect(theirs.status).toBe(200);
    const mine = (await (await raw('/v3/hooks')).json()) as { data: unknown[] };
    expect(mine.data).toHaveLength(1);
  });

  test('the admin API creates a store and an order for the demo', async () => {
    const created = (await (await fetch(`${sandbox.url}/__sandbox/stores`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).json()) as { storeHash: string; credentialsFile: string };
    expect(created.credentialsFile).toMatch(/ACCESS TOKEN: /);
    const order = await fetch(`${sandbox.url}/__sandbox/stores/${created.storeHash}/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ totalIncTax: '10.0000', email: 'a@b.c' }),
    });
    expect(((await order.json()) as { total_inc_tax: string }).total_inc_tax).toBe('10.0000');
  });
});

describe('client against the sandbox', () => {
  test('probes: every scope present on a full account; each missing one found alone', async () => {
    const { client } = account();
    for (const s of REQUIRED_SCOPES) expect([s, await client.hasScope(s)]).toEqual([s, true]);
    for (const missing of REQUIRED_SCOPES) {
      const { client: c } = account({ without: [missing] });
      const found = [];
      for (const s of REQUIRED_SCOPES) if (!(await c.hasScope(s))) found.push(s);
      expect(found).toEqual([missing]);
    }
  });

  test('refunds come sorted by id; an unknown order is null; a revoked token is Unauthorized', async () => {
    const { store, a, client } = account();
    const o = sandbox.createOrder(store.hash, { totalIncTax: '100.0000', email: 'r@example.com' });
    sandbox.createRefund(store.hash, o.id, 10);
    sandbox.createRefund(store.hash, o.id, 20.5);
    const refunds = await client.listOrderRefunds(o.id);
    expect(refunds.map((r) => [r.id, r.total_amount])).toEqual([
      [refunds[0]!.id, 10],
      [refunds[1]!.id, 20.5],
    ]);
    expect(refunds[0]!.id).toBeLessThan(refunds[1]!.id);
    expect(await client.getOrder(424242)).toBeNull();
    sandbox.revoke(a.accessToken);
    await expect(client.getOrder(o.id)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  test('after a 429 the client sends nothing to that store until the reset time has passed', async () => {
    const { store, client } = account();
    sandbox.injectFaults(store.hash, { kind: '429', resetMs: 700 });
    const err = await client.getOrder(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(1000); // the longer of 700 ms and X-Retry-After 1 s
    const limited = sandbox.requests(store.hash).at(-1)!;
    expect(limited.status).toBe(429);
    // The next call is held back in the client, then sent once the wait is over.
    expect(await client.getOrder(1)).toBeNull();
    const next = sandbox.requests(store.hash).at(-1)!;
    expect(next).not.toBe(limited);
    expect(next.at).toBeGreaterThanOrEqual(limited.retryAt!);
  });

  test('the client uses at most RATE_LIMIT_SHARE of the quota in any window, however many calls wait', async () => {
    const store = sandbox.createStore({ rateLimit: { quota: 50, windowMs: 1_000 } });
    const a = sandbox.createAccount(store.hash);
    const client = new BigCommerceClient({ apiBase: `${sandbox.url}/stores/${store.hash}`, accessToken: a.accessToken, rateLimitShare: 0.8 });
    const results = await Promise.all(Array.from({ length: 120 }, () => client.getOrder(1)));
    expect(results.every((r) => r === null)).toBe(true);
    const log = sandbox.requests(store.hash);
    expect(log.filter((r) => r.status === 429)).toHaveLength(0);
    const perWindow = new Map<number, number>();
    for (const r of log) perWindow.set(r.windowStart!, (perWindow.get(r.windowStart!) ?? 0) + 1);
    expect(Math.max(...perWindow.values())).toBeLessThanOrEqual(40);
    expect(perWindow.size).toBeGreaterThanOrEqual(3); // 120 calls at 40 a window
  });

  test('background calls leave a tenth of the quota to live ones', async () => {
    const store = sandbox.createStore({ rateLimit: { quota: 50, windowMs: 1_000 } });
    const a = sandbox.createAccount(store.hash);
    const opts = { apiBase: `${sandbox.url}/stores/${store.hash}`, accessToken: a.accessToken, rateLimitShare: 0.8 };
    const background = new BigCommerceClient({ ...opts, priority: 'background' });
    const live = new BigCommerceClient(opts);
    await background.getOrder(2); // learns the quota: 50, of which 40 are ours and 35 background's
    const backgroundCalls = Promise.all(Array.from({ length: 40 }, () => background.getOrder(2)));
    await Promise.all(Array.from({ length: 5 }, () => live.getOrder(3)));
    await backgroundCalls;
    const log = sandbox.requests(store.hash);
    expect(log.filter((r) => r.status === 429)).toHaveLength(0);
    const first = log[0]!.windowStart;
    const liveCalls = log.filter((r) => r.path === '/v2/orders/3');
    const backgroundInFirst = log.filter((r) => r.path === '/v2/orders/2' && r.windowStart === first);
    expect(liveCalls.every((r) => r.windowStart === first)).toBe(true); // live work found room at once
    expect(backgroundInFirst).toHaveLength(35); // background stopped at its room
    expect(log.filter((r) => r.windowStart === first)).toHaveLength(40);
  });

  test('5xx and timeouts are transient', async () => {
    const { store, client } = account();
    sandbox.injectFaults(store.hash, { kind: '500' });
    await expect(client.getOrder(1)).rejects.toBeInstanceOf(TransientError);
    sandbox.setLatency(store.hash, 2_500);
    await expect(client.getOrder(1)).rejects.toThrow(/no answer within 2000 ms/);
    sandbox.setLatency(store.hash, 0);
  });
});

describe('sandbox: webhook delivery', () => {
  test('non-2xx deliveries are retried with the same hash; after the last retry the hook is deactivated', async () => {
    const http = await import('node:http');
    // 1 s of BigCommerce's schedule per 10 µs: 11 retries (~48 h) take about 1.8 s.
    const fast = await startSandbox({ retryTimeScale: 0.00001 });
    let calls = 0;
    const receiver = http.createServer((_req, res) => {
      calls++;
      res.statusCode = calls <= 2 ? 500 : 200;
      res.end();
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const port = (receiver.address() as { port: number }).port;
    try {
      const store = fast.createStore();
      const a = fast.createAccount(store.hash);
      const client = new BigCommerceClient({ apiBase: `${fast.url}/stores/${store.hash}`, accessToken: a.accessToken });
      const flaky = await client.createHook({ scope: 'store/order/created', destination: `http://127.0.0.1:${port}/hook`, headers: { 'X-Test': '1' } });
      const dead = await client.createHook({ scope: 'store/order/created', destination: 'http://127.0.0.1:9/nowhere', headers: {} });
      fast.createOrder(store.hash, { totalIncTax: '1.0000', email: 'd@example.com' });
      await fast.delivery.idle();

      const toFlaky = fast.delivery.log.filter((d) => d.hookId === flaky.id);
      expect(toFlaky.map((d) => d.status)).toEqual([500, 500, 200]);
      expect(new Set(toFlaky.map((d) => d.hash)).size).toBe(1);
      const toDead = fast.delivery.log.filter((d) => d.hookId === dead.id);
      expect(toDead).toHaveLength(12); // the first try and 11 retries
      expect(fast.hooks(store.hash).find((h) => h.id === dead.id)!.is_active).toBe(false);
      expect(fast.hooks(store.hash).find((h) => h.id === flaky.id)!.is_active).toBe(true);
    } finally {
      receiver.close();
      await fast.close();
    }
  });
});
