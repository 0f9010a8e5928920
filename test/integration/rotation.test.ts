import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { freePort } from '../../src/dev/servers';
import { rotateKeys } from '../../src/ops/rotate-keys';
import { startProcesses, startSystem, type System, waitFor } from '../helpers/system';

/** Key rotation (CONTRACT §2): ENCRYPTION_KEY changes, the old one moves to ENCRYPTION_OLD_KEYS, `rotate-keys` re-seals. */
let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

/** An API and a worker, as fresh processes would be, over the same store, Temporal task queue and sandbox. */
async function processesWith(env: Record<string, string>) {
  const processes = await startProcesses(loadConfig({ ...sys.env, ...env, PORT: String(await freePort()) }));
  return {
    ...processes,
    balance: (merchantId: string, email: string, expected: number) =>
      waitFor(async () => {
        const r = await processes.request('GET', `/api/merchants/${merchantId}/contacts?email=${email}`);
        return (r.body as { contacts?: Array<{ balance: number }> }).contacts?.[0]?.balance === expected ? true : undefined;
      }, 90_000, `${email} balance ${expected}`), // the first after the worker swap may wait out a lost task (60 s task timeout)
  };
}

test('installed under key A; restarted with key B and A as old: orders credited, state readable, re-install works; rotate-keys re-seals, then A can go', async () => {
  const keyA = sys.config.ENCRYPTION_KEY;
  const keyB = randomBytes(32).toString('base64');
  const id = `rot-${Math.random().toString(36).slice(2, 8)}`;
  const account = sys.newStore();
  await sys.installActive(id, account);
  sys.sandbox.createOrder(account.storeHash, { totalIncTax: '10.0000', email: 'a@example.com' });
  await sys.balanceWhen(id, 'a@example.com', 10);

  // The API and the worker restart with B, A kept for reading.
  await sys.stopApi();
  await sys.stopWorkerWhenSettled(`bigcommerce-merchant:${id}`);
  const rotated = await processesWith({ ENCRYPTION_KEY: keyB, ENCRYPTION_OLD_KEYS: keyA });
  try {
    for (const h of sys.sandbox.hooks(account.storeHash)) h.destination = h.destination.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${rotated.config.PORT}`);
    sys.sandbox.createOrder(account.storeHash, { totalIncTax: '20.0000', email: 'b@example.com' });
    await rotated.balance(id, 'b@example.com', 20);
    const state = await rotated.request('GET', `/api/merchants/${id}/bigcommerce`);
    expect(state.body).toMatchObject({ status: 'active', stats: { ordersCredited: 2 } });

    const report = await rotateKeys({ config: rotated.config, store: rotated.store, client: rotated.client });
    expect(report).toMatchObject({ resealed: 1, alreadyCurrent: 0, merchantRunsRenewed: 1 });
    const again = await rotateKeys({ config: rotated.config, store: rotated.store, client: rotated.client });
    expect(again.resealed).toBe(0);
    // The merchant's new run holds only payloads of B.
    const handle = rotated.client.workflow.getHandle(`bigcommerce-merchant:${id}`);
    // After the worker swap, a task the stopped worker had taken is retried after the merchant workflow's 60 s task timeout.
    await waitFor(async () => (((await handle.query('state')) as { counters: { runs: number } }).counters.runs === 2 ? true : undefined), 90_000, 'a fresh merchant run');

    // Re-install under B (hooks now point at this API).
    expect((await rotated.request('PUT', `/api/merchants/${id}/bigcommerce`, { apiPath: account.apiPath, accessToken: account.accessToken, clientId: account.clientId })).status).toBe(202);
    await waitFor(async () => ((await rotated.request('GET', `/api/merchants/${id}/bigcommerce`)).body.status === 'active' ? true : undefined), 90_000, 'active again');
  } finally {
    // Stopped between two of the merchant's tasks, like the first worker: a task this worker had
    // taken would wait out the merchant's 60 s task timeout before the next could take it (once in a
    // full suite, this test took 65 s instead of 5).
    await sys.settled(`bigcommerce-merchant:${id}`).catch(() => undefined);
    await rotated.stop();
  }

  // A dropped: B alone reads the credentials and the merchant's history.
  const onlyB = await processesWith({ ENCRYPTION_KEY: keyB, ENCRYPTION_OLD_KEYS: '' });
  try {
    for (const h of sys.sandbox.hooks(account.storeHash)) h.destination = h.destination.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${onlyB.config.PORT}`);
    sys.sandbox.createOrder(account.storeHash, { totalIncTax: '30.0000', email: 'c@example.com' });
    await onlyB.balance(id, 'c@example.com', 30);
    expect((await onlyB.request('GET', `/api/merchants/${id}/bigcommerce`)).body).toMatchObject({ status: 'active', stats: { ordersCredited: 3 } });
  } finally {
    await onlyB.stop();
    await sys.startWorker(); // for the suite's teardown
  }
});
