import { startSystem, type System, uniqueId, waitFor } from '../helpers/system';

/** Points at the edges: multi-currency stores, store switch, shared API accounts, install races. */
let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});




describe('multi-currency stores earn in the default currency (rule 1)', () => {
  test('15,000 JPY at rate 150 and 92 EUR at rate 0.92 in a USD store credit 100 points each; half of the EUR order refunded deducts 50', async () => {
    const id = uniqueId('fx');
    const account = sys.newStore();
    await sys.installActive(id, account);
    const jpy = sys.sandbox.createOrder(account.storeHash, {
      totalIncTax: '15000.0000',
      email: 'yen@example.com',
      currency: 'JPY',
      storeDefaultCurrency: 'USD',
      exchangeRate: '150.0000000000',
    });
    const eur = sys.sandbox.createOrder(account.storeHash, {
      totalIncTax: '92.0000',
      email: 'euro@example.com',
      currency: 'EUR',
      storeDefaultCurrency: 'USD',
      exchangeRate: '0.9200000000',
    });
    // An order in the default currency of the same multi-currency store converts at rate 1.
    const usd = sys.sandbox.createOrder(account.storeHash, {
      totalIncTax: '100.0000',
      email: 'dollar@example.com',
      currency: 'USD',
      storeDefaultCurrency: 'USD',
      exchangeRate: '1.0000000000',
    });
    expect(await sys.childResult(`bigcommerce-order:${id}:${jpy.id}`)).toMatchObject({ outcome: 'credited', credit: { points: 100 } });
    expect(await sys.childResult(`bigcommerce-order:${id}:${eur.id}`)).toMatchObject({ outcome: 'credited', credit: { points: 100 } });
    expect(await sys.childResult(`bigcommerce-order:${id}:${usd.id}`)).toMatchObject({ outcome: 'credited', credit: { points: 100 } });

    const yen = await sys.balanceWhen(id, 'yen@example.com', 100);
    expect(await sys.transactions(id, yen.id)).toEqual([
      expect.objectContaining({ type: 'order', amount: '15000.0000', currency: 'JPY', defaultAmount: '100.0000', defaultCurrency: 'USD', points: 100 }),
    ]);

    const refund = sys.sandbox.createRefund(account.storeHash, eur.id, 46);
    expect(await sys.childResult(`bigcommerce-refund:${id}:${refund.id}`)).toMatchObject({ outcome: 'deducted', points: -50 });
    const euro = await sys.balanceWhen(id, 'euro@example.com', 50);
    const [refundTx] = await sys.transactions(id, euro.id);
    expect(refundTx).toMatchObject({ type: 'refund', amount: '46.0000', currency: 'EUR', defaultAmount: '50.0000', defaultCurrency: 'USD', points: -50 });
  });

  test('a single-currency order records the same amount as its default-currency amount', async () => {
    const id = uniqueId('fx1');
    const account = sys.newStore();
    await sys.installActive(id, account);
    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '12.3400', email: 'plain@example.com' });
    await sys.childResult(`bigcommerce-order:${id}:${order.id}`);
    const contact = await sys.balanceWhen(id, 'plain@example.com', 12);
    expect(await sys.transactions(id, contact.id)).toEqual([
      expect.objectContaining({ amount: '12.3400', currency: 'USD', defaultAmount: '12.3400', defaultCurrency: 'USD', exchangeRate: null }),
    ]);
  });
});

describe('a merchant id is bound to one store', () => {
  test('re-installing with another store hash is 409 store_mismatch, changes nothing, and the first store keeps crediting', async () => {
    const id = uniqueId('switch');
    const first = sys.newStore();
    await sys.installActive(id, first);
    const before = await sys.state(id);
    const handle = sys.client.workflow.getHandle(`bigcommerce-merchant:${id}`);
    const signals = async () => (await handle.fetchHistory()).events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length;
    const signalsBefore = await signals();

    const other = sys.newStore();
    const res = await sys.install(id, other);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'store_mismatch' });
    expect(res.body.error.message).toContain(first.storeHash);

    const after = await sys.state(id);
    expect(after.body).toEqual(before.body);
    expect(await signals()).toBe(signalsBefore); // no install signal reached the workflow
    expect(sys.sandbox.hooks(other.storeHash)).toHaveLength(0);
    // Same with the credentials file pasted whole.
    const file = await sys.request('PUT', `/api/merchants/${id}/bigcommerce`, { credentialsFile: other.credentialsFile });
    expect(file.status).toBe(409);

    const order = sys.sandbox.createOrder(first.storeHash, { totalIncTax: '20.0000', email: 'stays@example.com' });
    await sys.childResult(`bigcommerce-order:${id}:${order.id}`);
    await sys.balanceWhen(id, 'stays@example.com', 20);
  });
});

describe('two merchant ids on one API account', () => {
  test('both keep their own active hooks and both credit an order; uninstalling one leaves the other’s hooks alone', async () => {
    const account = sys.newStore();
    const a = uniqueId('shared-a');
    const b = uniqueId('shared-b');
    await sys.installActive(a, account);
    await sys.installActive(b, account);
    // Re-install a: it must not touch b's hooks.
    await sys.installActive(a, account);

    const hooks = sys.sandbox.hooks(account.storeHash);
    for (const m of [a, b]) {
      const mine = hooks.filter((h) => h.destination.endsWith(`/webhooks/bigcommerce/${m}`));
      expect(mine.map((h) => [h.scope, h.is_active]).sort()).toEqual([
        ['store/order/created', true],
        ['store/order/refund/created', true],
        ['store/order/statusUpdated', true],
      ]);
      const state = (await sys.state(m)).body;
      expect(state.webhooks.map((w: { id: number }) => w.id).sort()).toEqual(mine.map((h) => h.id).sort());
    }

    const order = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '30.0000', email: 'both@example.com' });
    await sys.childResult(`bigcommerce-order:${a}:${order.id}`);
    await sys.childResult(`bigcommerce-order:${b}:${order.id}`);
    await sys.balanceWhen(a, 'both@example.com', 30);
    await sys.balanceWhen(b, 'both@example.com', 30);

    expect((await sys.request('DELETE', `/api/merchants/${a}/bigcommerce`)).status).toBe(202);
    await waitFor(async () => ((await sys.state(a)).body.status === 'uninstalled' ? true : undefined), 30_000, `${a} uninstalled`);
    const left = sys.sandbox.hooks(account.storeHash);
    expect(left.filter((h) => h.destination.endsWith(`/webhooks/bigcommerce/${a}`))).toHaveLength(0);
    expect(left.filter((h) => h.destination.endsWith(`/webhooks/bigcommerce/${b}`) && h.is_active)).toHaveLength(3);
  });
});

describe('install races and installedAt', () => {
  test('twelve concurrent first PUTs answer 202 each and make one active merchant with one workflow run', async () => {
    const id = uniqueId('race');
    const account = sys.newStore();
    const answers = await Promise.all(Array.from({ length: 12 }, () => sys.install(id, account)));
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(202));
    expect(new Set(answers.map((r) => r.body.runId)).size).toBe(1);
    await waitFor(async () => ((await sys.state(id)).body.status === 'active' ? true : undefined), 30_000, 'active');
    // The record and the workflow agree on the last install (FerretDB's unisolated updates once lost one here).
    const query = (await sys.client.workflow.getHandle(`bigcommerce-merchant:${id}`).query('state')) as { generation: number };
    expect(query.generation).toBe(12);
    const runs: string[] = [];
    for await (const wf of sys.client.workflow.list({ query: `WorkflowId = "bigcommerce-merchant:${id}"` })) runs.push(wf.runId);
    expect(runs).toHaveLength(1);
    expect(sys.sandbox.hooks(account.storeHash).filter((h) => h.is_active)).toHaveLength(3);
  });

  test('concurrent first PUTs with two different stores: one store wins, the other gets 409, never 500', async () => {
    const id = uniqueId('race2');
    const [s1, s2] = [sys.newStore(), sys.newStore()];
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => sys.install(id, i % 2 ? s1 : s2)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => s === 202 || s === 409)).toBe(true);
    const winners = new Set(answers.filter((r) => r.status === 202).map((r) => r.body.storeHash));
    expect(winners.size).toBe(1);
    const state = await waitFor(async () => {
      const s = (await sys.state(id)).body;
      return s.status === 'active' ? s : undefined;
    }, 30_000, 'active');
    expect(winners.has(state.storeHash)).toBe(true);
  });

  test('installedAt is the first time the merchant became active, not a failed first attempt', async () => {
    const id = uniqueId('late');
    const account = sys.newStore({ scopes: [] });
    expect((await sys.install(id, account)).status).toBe(202);
    const failed = await waitFor(async () => {
      const s = (await sys.state(id)).body;
      return s.status === 'failed' ? s : undefined;
    }, 30_000, 'failed');
    expect(failed.installedAt).toBeNull();

    // An order placed while the install had failed is not "after the install": its refund deducts nothing.
    const before = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '40.0000', email: 'early@example.com', dateCreated: new Date(Date.now() - 2_000) });
    await new Promise((r) => setTimeout(r, 1_100)); // date_created has whole seconds
    const fixed = sys.sandbox.createAccount(account.storeHash, {});
    const activeAt = Date.now();
    const active = await sys.installActive(id, fixed);
    expect(Date.parse(active.installedAt)).toBeGreaterThanOrEqual(Math.floor(activeAt / 1000) * 1000);

    const refund = sys.sandbox.createRefund(account.storeHash, before.id, 10);
    expect(await sys.childResult(`bigcommerce-refund:${id}:${refund.id}`)).toEqual({ outcome: 'nothing_credited' });

    // A later re-install keeps the first activation's time.
    const again = await sys.installActive(id, fixed);
    expect(again.installedAt).toBe(active.installedAt);
  });
});
