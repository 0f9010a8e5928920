/**
 * `npm run bench`: figures for the points pipeline on this machine, each next to
 * a baseline measured in the same process, against real servers (a Temporal dev
 * server and the store, started here on free ports) and the sandbox store.
 *
 * 1. Webhook ingest, worker stopped so nothing competes for the cores: latency
 *    of POST /webhooks/bigcommerce/{id} (auth, parse, durable signal) vs
 *    GET /healthz on the same server (the HTTP floor).
 * 2. Processing: a worker started on that backlog; orders/s until every order
 *    is a credited ledger row (signal → child workflow → BigCommerce fetch →
 *    ledger) vs the same ledger writes called directly, without Temporal, and
 *    vs a naive non-durable HTTP handler (fetch the order, insert the credit);
 *    BigCommerce order fetches per order.
 *
 * BENCH_ORDERS (default 300) and BENCH_CONCURRENCY (default 8) size it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import { bundleWorkflowCode } from '@temporalio/worker';
import express from 'express';
import { BigCommerceClient } from '../src/bigcommerce/client';
import { createLedgerActivities } from '../src/activities/ledger';
import { snapshot } from '../src/activities/bigcommerce';
import { freePort, startStore, startTemporal } from '../src/dev/servers';
import { FAILURE_CONVERTER_PATH } from '../src/temporal/codec';
import { startSystem, waitFor } from '../test/helpers/system';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

function percentiles(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  return { p50: at(50), p95: at(95), p99: at(99), max: s[s.length - 1]! };
}

/** Runs `n` calls of `fn`, `concurrency` at a time; answers each call's latency in ms and the wall time. */
async function load(n: number, concurrency: number, fn: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await fn(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

const fmt = (n: number) => n.toFixed(2).padStart(8);

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-bench-'));
  const say = (l: string) => process.stderr.write(`${l}\n`);
  const [temporal, store, bundle] = await Promise.all([
    freePort().then((port) => startTemporal({ port, uiPort: null, namespace: 'default', log: say })),
    freePort().then((port) => startStore({ port, dataDir: path.join(dir, 'store'), log: say })),
    bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), failureConverterPath: FAILURE_CONVERTER_PATH }),
  ]);
  const bundlePath = path.join(dir, 'bundle.js');
  writeFileSync(bundlePath, bundle.code);
  Object.assign(process.env, {
    TEST_TEMPORAL_ADDRESS: temporal.address,
    TEST_MONGODB_URL: store.uri.replace(/\/[^/]*$/, ''),
    TEST_WORKFLOW_BUNDLE: bundlePath,
  });
  const sys = await startSystem();
  try {
    const id = 'bench';
    const account = sys.newStore();
    await sys.installActive(id, account);
    const secret = sys.sandbox.hooks(account.storeHash)[0]!.headers['X-Loyalty-Webhook-Secret']!;
    // The orders exist in BigCommerce; their webhooks are posted by this process so it can time them.
    for (const hook of sys.sandbox.hooks(account.storeHash)) sys.sandbox.deactivateHook(account.storeHash, hook.id);
    const orders = Array.from({ length: ORDERS }, (_, i) =>
      sys.sandbox.createOrder(account.storeHash, { totalIncTax: '25.0000', email: `bench${i % 50}@example.com`, customerId: 1 + (i % 50) }),
    );

    // Warm-up: connections, JIT, first workflow tasks.
    await load(20, CONCURRENCY, async () => void (await fetch(`${sys.api}/healthz`)).arrayBuffer());

    const healthz = await load(ORDERS, CONCURRENCY, async () => {
      const res = await fetch(`${sys.api}/healthz`);
      await res.arrayBuffer();
    });

    await sys.stopWorker();
    const ingest = await load(ORDERS, CONCURRENCY, async (i) => {
      const res = await fetch(`${sys.api}/webhooks/bigcommerce/${id}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Loyalty-Webhook-Secret': secret },
        body: JSON.stringify({ scope: 'store/order/created', store_id: '1', data: { type: 'order', id: orders[i]!.id }, hash: `h${i}`, created_at: 0, producer: `stores/${account.storeHash}` }),
      });
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      await res.arrayBuffer();
    });
    const requestsBefore = sys.sandbox.requests(account.storeHash).length;
    const e2eStart = performance.now();
    await sys.startWorker();
    await waitFor(async () => ((await sys.store.ledger.stats(id)).ordersCredited === ORDERS ? true : undefined), 600_000, 'all credited');
    const e2eSeconds = (performance.now() - e2eStart) / 1000;
    const bigcommerceCalls = sys.sandbox.requests(account.storeHash).slice(requestsBefore).filter((r) => r.path.startsWith('/v2/orders/')).length;

    // Baseline: the same credits written straight to the ledger (another merchant, same store).
    const direct = createLedgerActivities({ store: sys.store });
    await sys.store.merchants.saveInstall({ merchantId: 'bench-direct', storeHash: account.storeHash, apiBase: 'x', clientId: 'x', name: null, accessToken: 'x', clientSecret: null, pointsPerCurrencyUnit: '1.0000' });
    const ledgerOnly = await load(ORDERS, CONCURRENCY, async (i) => {
      await direct.creditOrder({ merchantId: 'bench-direct', order: snapshot(orders[i]! as never) });
    });

    // Baseline: a naive, non-durable handler: an HTTP route that fetches the order from the sandbox and inserts the credit.
    await sys.store.merchants.saveInstall({ merchantId: 'bench-naive', storeHash: account.storeHash, apiBase: 'x', clientId: 'x', name: null, accessToken: 'x', clientSecret: null, pointsPerCurrencyUnit: '1.0000' });
    const bc = new BigCommerceClient({ apiBase: `${sys.sandbox.url}/stores/${account.storeHash}`, accessToken: account.accessToken, rateLimitShare: 1 });
    const naiveApp = express();
    naiveApp.post('/naive/:orderId', async (req, res) => {
      const order = await bc.getOrder(Number(req.params.orderId));
      await direct.creditOrder({ merchantId: 'bench-naive', order: snapshot(order!) });
      res.json({ ok: true });
    });
    const naiveServer = await new Promise<Server>((resolve) => {
      const s = naiveApp.listen(0, '127.0.0.1', () => resolve(s));
    });
    const naiveUrl = `http://127.0.0.1:${(naiveServer.address() as { port: number }).port}`;
    const naive = await load(ORDERS, CONCURRENCY, async (i) => {
      const res = await fetch(`${naiveUrl}/naive/${orders[i]!.id}`, { method: 'POST' });
      if (res.status !== 200) throw new Error(`naive handler answered ${res.status}`);
      await res.arrayBuffer();
    });
    naiveServer.close();
    const naiveRate = ORDERS / naive.seconds;

    const h = percentiles(healthz.latencies);
    const w = percentiles(ingest.latencies);
    const l = percentiles(ledgerOnly.latencies);
    const e2eRate = ORDERS / e2eSeconds;
    const ledgerRate = ORDERS / ledgerOnly.seconds;
    const out = [
      '',
      `bench: ${ORDERS} orders, concurrency ${CONCURRENCY}, ${os.cpus().length} cores, store ${store.kind}`,
      '',
      'latency (ms)                 p50      p95      p99      max    req/s',
      `GET /healthz (baseline) ${fmt(h.p50)} ${fmt(h.p95)} ${fmt(h.p99)} ${fmt(h.max)} ${fmt(ORDERS / healthz.seconds)}`,
      `POST webhook → 200      ${fmt(w.p50)} ${fmt(w.p95)} ${fmt(w.p99)} ${fmt(w.max)} ${fmt(ORDERS / ingest.seconds)}`,
      `ledger write (direct)   ${fmt(l.p50)} ${fmt(l.p95)} ${fmt(l.p99)} ${fmt(l.max)} ${fmt(ledgerRate)}`,
      '',
      `webhook p50 / healthz p50: ${(w.p50 / h.p50).toFixed(1)}×   webhook p99 / healthz p99: ${(w.p99 / h.p99).toFixed(1)}×`,
      `processing: a backlog of ${ORDERS} webhooks credited in ${e2eSeconds.toFixed(2)} s by one worker = ${e2eRate.toFixed(1)} orders/s`,
      `direct ledger writes: ${ledgerRate.toFixed(1)} orders/s; the workflow pipeline runs at ${(e2eRate / ledgerRate).toFixed(2)}× of that`,
      `naive handler (HTTP → fetch the order → insert the credit, not durable): ${naiveRate.toFixed(1)} orders/s; the pipeline runs at ${(e2eRate / naiveRate).toFixed(2)}× of that`,
      `BigCommerce order fetches per order in the pipeline: ${(bigcommerceCalls / ORDERS).toFixed(2)}`,
      '',
    ];
    process.stdout.write(out.join('\n'));
  } finally {
    await sys.stop();
    await Promise.allSettled([temporal.stop(), store.stop()]);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
