import { startSystem, type System, waitFor } from '../helpers/system';

/** Historical imports (CONTRACT §3): orders placed before the install, credited once however many imports overlap. */
let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY);

async function importDone(id: string, importId: string) {
  return waitFor(async () => {
    const r = await sys.request('GET', `/api/merchants/${id}/bigcommerce/imports/${importId}`);
    return r.body?.status === 'completed' || r.body?.status === 'failed' ? r.body : undefined;
  }, 60_000, `import ${importId} done`);
}

test('orders placed before the install are credited once; overlapping imports write nothing more; cancelled and older orders are not credited; refunds of imported orders deduct', async () => {
  const id = `imp-${Math.random().toString(36).slice(2, 8)}`;
  const account = sys.newStore();
  const tenDays = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '50.0000', email: 'old@example.com', dateCreated: daysAgo(10) });
  sys.sandbox.createOrder(account.storeHash, { totalIncTax: '70.0000', email: 'cancelled@example.com', statusId: 5, dateCreated: daysAgo(9) });
  sys.sandbox.createOrder(account.storeHash, { totalIncTax: '90.0000', email: 'older@example.com', dateCreated: daysAgo(20) });
  await sys.installActive(id, account);

  const started = await sys.request('POST', `/api/merchants/${id}/bigcommerce/imports`, { since: daysAgo(15).toISOString() });
  expect(started.status).toBe(202);
  expect(started.body).toMatchObject({ status: 'running', workflowId: `bigcommerce-import:${id}:${started.body.importId}` });
  const first = await importDone(id, started.body.importId);
  expect(first).toMatchObject({ status: 'completed', ordersSeen: 2, ordersCredited: 1, lastError: null });
  const contact = await sys.contact(id, 'old@example.com');
  expect(contact?.balance).toBe(50);
  expect(await sys.contact(id, 'cancelled@example.com')).toBeUndefined();
  expect(await sys.contact(id, 'older@example.com')).toBeUndefined();
  // Visible in the Temporal UI by its id and the merchant's search attribute. The import says
  // "completed" from its last activity, a workflow task before its run completes: wait for that.
  const handle = sys.client.workflow.getHandle(started.body.workflowId);
  await handle.result();
  const description = await handle.describe();
  expect(description.status.name).toBe('COMPLETED');
  expect(description.searchAttributes.MerchantId).toEqual([id]);

  const again = await sys.request('POST', `/api/merchants/${id}/bigcommerce/imports`, { since: daysAgo(12).toISOString() });
  const second = await importDone(id, again.body.importId);
  expect(second).toMatchObject({ status: 'completed', ordersSeen: 2, ordersCredited: 0 });
  expect((await sys.state(id)).body.stats).toEqual({ ordersCredited: 1, refundsDeducted: 0 });

  const refund = sys.sandbox.createRefund(account.storeHash, tenDays.id, 25);
  await waitFor(async () => ((await sys.contact(id, 'old@example.com'))?.balance === 25 ? true : undefined), 30_000, 'refund deducted');
  const txs = await sys.transactions(id, contact!.id);
  expect(txs.map((t) => [t.type, t.points, t.refundId])).toEqual([
    ['refund', -25, refund.id],
    ['order', 50, null],
  ]);
});

test('bad since → 400 and nothing started; unknown merchant or import → 404; no bearer → 401', async () => {
  const id = `imp-bad-${Math.random().toString(36).slice(2, 8)}`;
  await sys.installActive(id, sys.newStore());
  for (const body of [{}, { since: 'yesterday' }, { since: '2026-13-01T00:00:00Z' }, { since: new Date(Date.now() + DAY).toISOString() }, { since: daysAgo(1).toISOString(), extra: 1 }]) {
    const res = await sys.request('POST', `/api/merchants/${id}/bigcommerce/imports`, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
  }
  let imports = 0;
  for await (const _ of sys.client.workflow.list({ query: `MerchantId = "${id}" AND WorkflowType = "importWorkflow"` })) imports++;
  expect(imports).toBe(0);
  expect((await sys.request('POST', '/api/merchants/nobody/bigcommerce/imports', { since: daysAgo(1).toISOString() })).status).toBe(404);
  expect((await sys.request('GET', `/api/merchants/${id}/bigcommerce/imports/imp_0123456789abcdef`)).status).toBe(404);
  expect((await sys.request('GET', `/api/merchants/${id}/bigcommerce/imports/whatever`)).status).toBe(404);
  expect((await sys.request('POST', `/api/merchants/${id}/bigcommerce/imports`, { since: daysAgo(1).toISOString() }, { Authorization: '' })).status).toBe(401);
});
