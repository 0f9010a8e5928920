import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { closeServer, startApi } from '../../src/api/server';
import { keyring, loadConfig } from '../../src/config';
import { freePort } from '../../src/dev/servers';
import { logger } from '../../src/logger';
import { rotateKeys } from '../../src/ops/rotate-keys';
import { openStore } from '../../src/store';
import { connectClient } from '../../src/temporal/client';
import { createWorker } from '../../src/worker/worker';
import { DASHBOARD_KEY, startSystem, type System, waitFor } from '../helpers/system';

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
  const config = loadConfig({ ...sys.env, ...env, PORT: String(await freePort()) });
  const store = await openStore(config.MONGODB_URI, keyring(config));
  const client = await connectClient(config);
  const server: Server = await startApi({ config, client, store, logger });
  const w = await createWorker({ config, store, workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! }, requestTimeoutMs: 5_000 });
  const running = w.worker.run();
  const api = `http://127.0.0.1:${config.PORT}`;
  return {
    config,
    store,
    client,
    async request(method: string, path: string, body?: unknown) {
      const res = await fetch(api + path, { method, headers: { Authorization: `Bearer ${DASHBOARD_KEY}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    },
    async balance(merchantId: string, email: string, expected: number) {
      return waitFor(async () => {
        const r = await this.request('GET', `/api/merchants/${merchantId}/contacts?email=${email}`);
        return r.body.contacts?.[0]?.balance === expected ? true : undefined;
      }, 30_000, `${email} balance ${expected}`);
    },
    async stop() {
      await closeServer(server);
      w.worker.shutdown();
      await running;
      await w.connection.close();
      await client.connection.close();
      await store.close();
    },
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
  await sys.stopWorker();
  const rotated = await processesWith({ ENCRYPTION_KEY: keyB, ENCRYPTION_OLD_KEYS: keyA });
  try {
    for (const h of sys.sandbox.hooks(account.storeHash)) h.destination = h.destination.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${rotated.config.PORT}`);
    sys.sandbox.createOrder(account.storeHash, { totalIncTax: '20.0000', email: 'b@example.com' });
    await rotated.balance(id, 'b@example.com', 20);
    const state = await rotated.request('GET', `/api/merchants/${id}/bigcommerce`);
    expect(state.body).toMatchObject({ status: 'active', stats: { ordersCredited: 2 } });

    const report = await rotateKeys({ config: rotated.config, store: rotated.store, client: rotated.client });
    expect(report.resealed).toBeGreaterThanOrEqual(1);
    expect(report.merchantRunsRenewed).toBeGreaterThanOrEqual(1);
    const again = await rotateKeys({ config: rotated.config, store: rotated.store, client: rotated.client });
    expect(again.resealed).toBe(0);
    // The merchant's new run holds only payloads of B.
    const handle = rotated.client.workflow.getHandle(`bigcommerce-merchant:${id}`);
    await waitFor(async () => (((await handle.query('state')) as { counters: { runs: number } }).counters.runs === 2 ? true : undefined), 30_000, 'a fresh merchant run');

    // Re-install under B (hooks now point at this API).
    expect((await rotated.request('PUT', `/api/merchants/${id}/bigcommerce`, { apiPath: account.apiPath, accessToken: account.accessToken, clientId: account.clientId })).status).toBe(202);
    await waitFor(async () => ((await rotated.request('GET', `/api/merchants/${id}/bigcommerce`)).body.status === 'active' ? true : undefined), 30_000, 'active again');
  } finally {
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
