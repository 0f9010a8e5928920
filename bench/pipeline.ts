/**
 * `npm run bench` (pipeline section), or alone `npm run bench:pipeline`:
 * figures for the points pipeline on this machine, each next to a baseline
 * measured in the same run, against real servers started here as `npm start`
 * runs them (Temporal's dev server on a database file, the embedded store on
 * its data directory) and the sandbox store. The API and the worker share one
 * process, as under `npm start`; the load comes from another process
 * (bench/loadgen.ts), so that the client does not take the API's event loop.
 *
 * 1. GET /healthz, closed loop at BENCH_CONCURRENCY (default 32): the HTTP floor.
 * 2. BENCH_ORDERS (default 1,000) order webhooks, closed loop at BENCH_CONCURRENCY,
 *    **worker running**: ack latency and req/s; then webhook → credited
 *    orders/s for the whole batch (ingest and processing overlap).
 * 3. The same again, open loop at BENCH_RATE req/s (default 500, at most
 *    BENCH_CONCURRENCY in flight; latency from when each request was due), on
 *    a fresh merchant run: the merchant works throughout; then once more with
 *    a continue-as-new asked for as the load begins (what every run meets
 *    after some 1,300 orders: the server suggests it past 4,096 events; while
 *    the route is pressed it waits for the spell to pass, workflows/merchant.ts); then
 *    with the worker stopped: the route's own cost. For each phase with the
 *    worker, what the merchant workflow did: runs begun, task failures, and
 *    how long its work waited (bench/common.ts `merchantActivity`); across
 *    the continue-as-new, the signals Temporal refused as busy (a refused
 *    continue-as-new tried again: bench/common.ts `refusedAsBusy`).
 * 4. 100 refunds: BigCommerce calls per refund. 200 orders paid at checkout
 *    (`created` at status 0 and `statusUpdated` 0 → 11, both webhooks, the
 *    order already placed when they come): BigCommerce fetches per order.
 * 5. A naive, non-durable handler (an HTTP route that fetches the order from
 *    the sandbox and inserts the credit), closed loop: orders/s, and the
 *    pipeline's ratio to it. BigCommerce order fetches per order.
 * 6. The floor of the design card's child per order (bench/floor.ts): the
 *    same number of ids signalled to a parent, one per signal, 4 signals in
 *    flight, and a child each that returns at once: what Temporal and the SDK
 *    cost before any fetch or credit, in the cheapest shape measured (ids 32
 *    to a signal, or starts paced by the parent, cost the server more per
 *    child: docs/performance.md). The parent keeps at most FLOOR_RUNNING
 *    children running, as the merchant workflow bounds its own (by the room
 *    in its history): unbounded, 700-780 of the 1,000 ran at once, and in a
 *    few runs of earlier sessions all of them, at half the rate (the bound cost
 *    nothing in 18 alternated runs). With the naive handler's CPU per order, it
 *    bounds the ratio any pipeline of a child per order can reach here.
 * 7. CPU time per order of each process (this one, Temporal's server, the
 *    store) over phase 2, the floor and the naive run: where an order's cost goes.
 */
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { Server } from 'node:http';
import express from 'express';
import { BigCommerceClient } from '../src/bigcommerce/client';
import { createLedgerActivities } from '../src/activities/ledger';
import { snapshot } from '../src/activities/bigcommerce';
import { embeddedSqliteSynchronous } from '../src/dev/servers';
import { continueAsNewRequestedSignal, merchantWorkflowId } from '../src/workflows/messages';
import { ingestGauge } from '../src/worker/ingest-first';
import { waitFor } from '../test/helpers/system';
import { fmt, freshMerchantRun, loadFromAnotherProcess, merchantActivity, merchantEvents, merchantWithTimedWebhooks, percentiles, refusedAsBusy, runBench, startBench, statusUpdatedBody, timedRedemption, webhookBody } from './common';
import { ackBreakdownSince } from './ack';
import { type CpuUse, cpuSince, peakRssMiB } from './cpu';
import { childPerOrderFloor } from './floor';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const REFUNDS = 100;
const CHECKOUTS = 200;
/** Redemptions asked for while the closed loop's orders drain, one every 2 s: how long a shopper waits meanwhile. */
const REDEMPTIONS = 10;
/** The most children the floor's parent keeps running (bench/floor-workflows.ts). */
const FLOOR_RUNNING = 100;
/** Requests of the closed-loop floor: enough for its p99 to be more than a few requests. */
const HEALTHZ = Math.max(ORDERS, 5_000);

async function main() {
  const bench = await startBench('bc-bench-');
  const { dir, say, sys } = bench;
  try {
    const id = 'bench';
    const { account, posts } = await merchantWithTimedWebhooks(sys, id);
    const newOrders = () =>
      Array.from({ length: ORDERS }, (_, i) => sys.sandbox.createOrder(account.storeHash, { totalIncTax: '25.0000', email: `bench${i % 50}@example.com`, customerId: 1 + (i % 50) }));
    const webhooks = (orders: { id: number }[]) => posts(orders.map((o) => webhookBody(account.storeHash, 'store/order/created', o.id, `h${o.id}`)), CONCURRENCY);
    // Only what was answered 200 must be credited: a 503 is BigCommerce's to retry (or the reconciliation's to find).
    let accepted = 0;
    const acceptedOf = <R extends { statuses: Record<string, number> }>(r: R, phase: string): R => {
      accepted += r.statuses['200'] ?? 0;
      say(`${phase}: ${Object.entries(r.statuses).map(([k, v]) => `${v} × ${k}`).join(', ')}`);
      return r;
    };
    /** `n` redemptions of 10 points, one every `everyMs`: the time each POST took (the merchant workflow's update). */
    const redeemEvery = async (everyMs: number, n: number, merchantId: string, contactId: string) => {
      const took: number[] = [];
      for (let i = 0; i < n; i++) {
        await new Promise((r) => setTimeout(r, everyMs));
        const r = await timedRedemption(sys, merchantId, contactId, `bench-${Date.now()}-${i}`, 10);
        if (r.status !== 202) throw new Error(`redemption answered ${r.status}: ${JSON.stringify(r.body)}`);
        took.push(r.ms);
      }
      return took;
    };
    const credited = async () => waitFor(async () => ((await sys.store.ledger.stats(id)).ordersCredited >= accepted ? true : undefined), 1_800_000, `${accepted} credited`, 100);

    // BENCH_WORKER=process: the worker in a process of its own (`npm run worker`, as production runs it), not in the API's.
    const inOwnProcess = process.env.BENCH_WORKER === 'process';
    let workerProcess = inOwnProcess ? await spawnWorker(sys.env) : null;
    if (workerProcess) await sys.stopWorker();

    // Warm-up: connections, JIT, first workflow tasks.
    const warm = newOrders().slice(0, 50);
    acceptedOf(await loadFromAnotherProcess({ ...webhooks(warm), concurrency: 8 }, dir), 'warm-up');
    await credited();

    const healthz = await loadFromAnotherProcess({ url: `${sys.api}/healthz`, method: 'GET', n: HEALTHZ, concurrency: CONCURRENCY, warmUrl: `${sys.api}/healthz` }, dir);
    const healthzOpen = await loadFromAnotherProcess({ url: `${sys.api}/healthz`, method: 'GET', n: ORDERS, concurrency: CONCURRENCY, rate: RATE, warmUrl: `${sys.api}/healthz` }, dir);

    // Where each order's cost goes: CPU time of each process over the closed loop and over the naive run.
    const cpuOfEachProcess = () =>
      cpuSince({
        [`API${inOwnProcess ? '' : ' + worker'} + sandbox (this process)`]: process.pid,
        ...(workerProcess ? { 'worker (its own process)': workerProcess.pid } : {}),
        'Temporal dev server': bench.pids.temporal,
        [`store (${bench.storeKind})`]: bench.pids.store,
      });
    const closedOrders = newOrders();
    const pipelineCpu = cpuOfEachProcess();
    const requestsBefore = sys.sandbox.requests(account.storeHash).length;
    const e2eStart = performance.now();
    const closedFrom = Date.now();
    const redemptions = redeemEvery(2_000, REDEMPTIONS, id, (await sys.contact(id, 'bench0@example.com'))!.id);
    const closedAck = await ackBreakdownSince(bench.temporalMetricsUrl);
    const closed = acceptedOf(await loadFromAnotherProcess(webhooks(closedOrders), dir), 'closed loop');
    const closedWhere = await closedAck();
    await credited();
    const e2eSeconds = (performance.now() - e2eStart) / 1000;
    const pipelineCpuUse = pipelineCpu();
    const redeemed = await redemptions; // 10 redemptions beside 1,000 orders: about 1 % more work in the figures above
    const closedMerchant = await merchantActivity(sys.client, merchantWorkflowId(id), closedFrom, Date.now());
    const bigcommerceCalls = sys.sandbox.requests(account.storeHash).slice(requestsBefore).filter((r) => r.path.startsWith('/v2/orders/')).length;

    const merchantSettled = () => sys.settled(merchantWorkflowId(id));
    await freshMerchantRun(sys.client, merchantWorkflowId(id), merchantSettled);
    const openOrders = newOrders();
    const openFrom = Date.now();
    const openAck = await ackBreakdownSince(bench.temporalMetricsUrl);
    const open = acceptedOf(await loadFromAnotherProcess({ ...webhooks(openOrders), rate: RATE }, dir), 'open loop');
    const openWhere = await openAck();
    await credited();
    const openMerchant = await merchantActivity(sys.client, merchantWorkflowId(id), openFrom, Date.now());

    // The same, with a continue-as-new asked for 200 ms after the webhooks begin to press.
    await freshMerchantRun(sys.client, merchantWorkflowId(id), merchantSettled);
    const canOrders = newOrders();
    const canRefusedBefore = await refusedAsBusy(bench.temporalMetricsUrl);
    const canFrom = Date.now();
    const stopListening = ingestGauge.onChange(() => {
      if (!ingestGauge.busy) return;
      stopListening();
      setTimeout(() => void sys.client.workflow.getHandle(merchantWorkflowId(id)).signal(continueAsNewRequestedSignal), 200);
    });
    const canAck = await ackBreakdownSince(bench.temporalMetricsUrl);
    const acrossCan = acceptedOf(await loadFromAnotherProcess({ ...webhooks(canOrders), rate: RATE }, dir), 'open loop across a continue-as-new');
    const canWhere = await canAck();
    stopListening();
    await credited();
    const canMerchant = await merchantActivity(sys.client, merchantWorkflowId(id), canFrom, Date.now());
    // While a refused continue-as-new is tried again, Temporal refuses the run's signals (bench/common.ts refusedAsBusy).
    const canRefused = (await refusedAsBusy(bench.temporalMetricsUrl)).signals - canRefusedBefore.signals;

    // The route's own cost: the same open loop with no worker competing (the events wait in Temporal meanwhile).
    const quietOrders = newOrders();
    // The worker process's memory over the phases above (its young generation is set by BENCH_WORKER_NODE_FLAGS).
    const workerPeakRss = workerProcess?.pid === undefined ? undefined : peakRssMiB(workerProcess.pid);
    if (workerProcess) await stopProcess(workerProcess);
    else await sys.stopWorkerWhenSettled(merchantWorkflowId(id)); // it holds none of the merchant's tasks, and their next goes to the task queue
    const quietAck = await ackBreakdownSince(bench.temporalMetricsUrl);
    const quiet = acceptedOf(await loadFromAnotherProcess({ ...webhooks(quietOrders), rate: RATE }, dir), 'open loop, worker stopped');
    const quietWhere = await quietAck();
    if (inOwnProcess) workerProcess = await spawnWorker(sys.env);
    else await sys.startWorker();
    await credited();

    // Refunds (made with BigCommerce's Refund feature), their webhooks from the load generator: BigCommerce calls per refund.
    const refunded = closedOrders.slice(0, Math.min(REFUNDS, closedOrders.length));
    const refunds = refunded.map((o) => sys.sandbox.createRefund(account.storeHash, o.id, 5));
    const refundRequestsBefore = sys.sandbox.requests(account.storeHash).length;
    const refundLoad = await loadFromAnotherProcess(
      {
        ...webhooks([]),
        bodies: refunds.map((r) => webhookBody(account.storeHash, 'store/order/refund/created', r.order_id, `r${r.id}`, r.id)),
      },
      dir,
    );
    const refundsAccepted = refundLoad.statuses['200'] ?? 0;
    await waitFor(async () => ((await sys.store.ledger.stats(id)).refundsDeducted >= refundsAccepted ? true : undefined), 600_000, `${refundsAccepted} refunds deducted`, 100);
    const refundCalls = sys.sandbox.requests(account.storeHash).length - refundRequestsBefore;

    // Orders paid at checkout: BigCommerce sends `created` at status 0 and `statusUpdated` 0 → 11 in the same second.
    const checkoutOrders = Array.from({ length: CHECKOUTS }, (_, i) =>
      sys.sandbox.createOrder(account.storeHash, { totalIncTax: '25.0000', email: `bench${i % 50}@example.com`, customerId: 1 + (i % 50), statusId: 0 }),
    );
    for (const o of checkoutOrders) sys.sandbox.setOrderStatus(account.storeHash, o.id, 11);
    const checkoutRequestsBefore = sys.sandbox.requests(account.storeHash).length;
    const checkoutBodies = checkoutOrders.flatMap((o) => [webhookBody(account.storeHash, 'store/order/created', o.id, `c${o.id}`), statusUpdatedBody(account.storeHash, o.id, `s${o.id}`, 0, 11)]);
    const checkoutFrom = Date.now();
    const checkoutLoad = await loadFromAnotherProcess(posts(checkoutBodies, CONCURRENCY), dir);
    if ((checkoutLoad.statuses['200'] ?? 0) !== checkoutBodies.length) throw new Error(`checkout webhooks answered ${JSON.stringify(checkoutLoad.statuses)}`);
    accepted += CHECKOUTS; // the statusUpdated webhooks credit nothing of their own
    await credited();
    const checkoutFetches = sys.sandbox.requests(account.storeHash).slice(checkoutRequestsBefore).filter((r) => r.path.startsWith('/v2/orders/')).length;
    await new Promise((r) => setTimeout(r, 1_000)); // the merchant's tasks that read the last reports
    const checkoutEvents = await merchantEvents(sys.client, merchantWorkflowId(id), checkoutFrom, Date.now());

    // Baseline: a naive, non-durable handler: an HTTP route that fetches the order from the sandbox and inserts the credit.
    const direct = createLedgerActivities({ store: sys.store });
    await sys.store.merchants.saveInstall({ merchantId: 'bench-naive', storeHash: account.storeHash, apiBase: 'x', clientId: 'x', name: null, accessToken: 'x', clientSecret: null, pointsPerCurrencyUnit: '1.0000' });
    const bc = new BigCommerceClient({ apiBase: `${sys.sandbox.url}/stores/${account.storeHash}`, accessToken: account.accessToken, rateLimitShare: 1 });
    const naiveApp = express();
    naiveApp.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
    naiveApp.post('/naive/:orderId', async (req, res) => {
      const order = await bc.getOrder(Number(req.params.orderId));
      await direct.creditOrder({ merchantId: 'bench-naive', order: snapshot(order!) });
      res.json({ ok: true });
    });
    const naiveServer = await new Promise<Server>((resolve) => {
      const s = naiveApp.listen(0, '127.0.0.1', () => resolve(s));
    });
    const naiveUrl = `http://127.0.0.1:${(naiveServer.address() as { port: number }).port}`;
    const naiveCpu = cpuOfEachProcess();
    const naiveRun = await loadFromAnotherProcess({ url: naiveUrl, urls: closedOrders.map((o) => `${naiveUrl}/naive/${o.id}`), method: 'POST', concurrency: CONCURRENCY, warmUrl: `${naiveUrl}/healthz` }, dir);
    const naiveCpuUse = naiveCpu();
    naiveServer.close();

    // The floor: a child per order that does nothing.
    const floor = await childPerOrderFloor(sys, { storeHash: account.storeHash, orders: ORDERS, batch: 1, inFlight: 4, maxRunning: FLOOR_RUNNING }, cpuOfEachProcess);

    const h = percentiles(healthz.latencies);
    const ho = percentiles(healthzOpen.latencies);
    const w = percentiles(closed.latencies);
    const o = percentiles(open.latencies);
    const q = percentiles(quiet.latencies);
    const c = percentiles(acrossCan.latencies);
    const e2eRate = (closed.statuses['200'] ?? 0) / e2eSeconds;
    const naiveRate = ORDERS / naiveRun.seconds;
    const statuses = (s: Record<string, number>) => Object.entries(s).map(([k, v]) => `${v} × ${k}`).join(', ');
    const out = [
      '',
      `pipeline: ${ORDERS} orders per phase, concurrency ${CONCURRENCY}, ${os.cpus().length} cores, store ${bench.storeKind}, Temporal on a database file, SQLite synchronous=${embeddedSqliteSynchronous()}, worker ${inOwnProcess ? `in its own process${process.env.BENCH_WORKER_NODE_FLAGS ? ` (node ${process.env.BENCH_WORKER_NODE_FLAGS})` : ''}` : `in the API's process (as npm start), ${sys.config.WORKER_YIELDS_TO_INGEST ? 'yielding to ingest' : 'not yielding to ingest (WORKER_YIELDS_TO_INGEST=false)'}`}`,
      '',
      'latency (ms), load from another process        p50      p95      p99      max    req/s',
      `GET /healthz (floor), closed loop          ${fmt(h.p50)} ${fmt(h.p95)} ${fmt(h.p99)} ${fmt(h.max)} ${fmt(HEALTHZ / healthz.seconds)}`,
      `POST webhook → 200, closed loop, worker on ${fmt(w.p50)} ${fmt(w.p95)} ${fmt(w.p99)} ${fmt(w.max)} ${fmt(ORDERS / closed.seconds)}   (${statuses(closed.statuses)})`,
      `GET /healthz (floor), open loop ${String(RATE).padStart(4)}/s     ${fmt(ho.p50)} ${fmt(ho.p95)} ${fmt(ho.p99)} ${fmt(ho.max)} ${fmt(ORDERS / healthzOpen.seconds)}`,
      `POST webhook → 200, open loop ${String(RATE).padStart(4)}/s, worker on${fmt(o.p50)} ${fmt(o.p95)} ${fmt(o.p99)} ${fmt(o.max)} ${fmt(ORDERS / open.seconds)}   (${statuses(open.statuses)})`,
      `POST webhook → 200, open loop ${String(RATE).padStart(4)}/s, worker on, across a continue-as-new${fmt(c.p50)} ${fmt(c.p95)} ${fmt(c.p99)} ${fmt(c.max)} ${fmt(ORDERS / acrossCan.seconds)}   (${statuses(acrossCan.statuses)})`,
      `POST webhook → 200, open loop ${String(RATE).padStart(4)}/s, no worker${fmt(q.p50)} ${fmt(q.p95)} ${fmt(q.p99)} ${fmt(q.max)} ${fmt(ORDERS / quiet.seconds)}   (${statuses(quiet.statuses)})`,
      '',
      'where the webhooks waited (ms; hand-off and signal from the loyalty_webhook_* histograms, the frontend from Temporal\'s service_latency, interpolated in their buckets):',
      `  closed loop, worker on: ${closedWhere}`,
      `  open loop, worker on: ${openWhere}`,
      `  open loop across a continue-as-new: ${canWhere}`,
      `  open loop, no worker: ${quietWhere}`,
      '',
      `closed loop, until credited: ${closedMerchant}`,
      `  redemptions asked for meanwhile (POST → 202, ${redeemed.length}, one every 2 s): ${(() => { const r = percentiles(redeemed); return `p50 ${r.p50.toFixed(0)} ms, max ${r.max.toFixed(0)} ms`; })()}`,
      `open loop, until credited: ${openMerchant}`,
      `open loop across a continue-as-new, until credited: ${canMerchant}; signals Temporal refused as busy: ${canRefused}`,
      '',
      `webhook → credited, worker running: ${ORDERS} orders in ${e2eSeconds.toFixed(2)} s = ${e2eRate.toFixed(1)} orders/s`,
      `naive handler (HTTP → fetch the order → insert the credit, not durable): ${naiveRate.toFixed(1)} orders/s; the pipeline runs at ${(e2eRate / naiveRate).toFixed(2)}× of that`,
      `BigCommerce order fetches per order in the pipeline: ${(bigcommerceCalls / ORDERS).toFixed(2)}; BigCommerce calls per refund: ${(refundCalls / Math.max(1, refundsAccepted)).toFixed(2)} (${refundsAccepted} refunds)`,
      `BigCommerce order fetches per order paid at checkout (created at status 0, then statusUpdated 0 → 11): ${(checkoutFetches / CHECKOUTS).toFixed(2)} (${CHECKOUTS} orders); merchant history events per such order: ${(checkoutEvents / CHECKOUTS).toFixed(1)}`,
      `floor of a child per order (one id per signal, 4 in flight, at most ${FLOOR_RUNNING} children running; each child returns at once: no fetch, no credit): ${floor.rate.toFixed(1)} children/s, ${(floor.rate / naiveRate).toFixed(2)}× of the naive handler; at most ${floor.mostRunning} children running at once, the parent's history ${floor.historyLength} events`,
      ...(workerPeakRss === undefined ? [] : [`worker process: peak resident memory ${workerPeakRss.toFixed(0)} MiB over the closed and open loops`]),
      '',
      ...cpuTable(
        [
          { name: 'pipeline', use: pipelineCpuUse, seconds: e2eSeconds },
          { name: 'floor', use: floor.cpu, seconds: floor.seconds },
          { name: 'naive', use: naiveCpuUse, seconds: naiveRun.seconds },
        ],
        ORDERS,
      ),
      ...ceiling(floor.cpu, naiveCpuUse, ORDERS),
      '',
    ];
    process.stdout.write(out.join('\n'));
    workerProcess?.kill('SIGTERM');
  } finally {
    await bench.stop();
  }
}

/**
 * CPU ms per order of each process in each run (the load generator, another
 * process, is left out of all), and the share of the machine's cores they kept busy.
 */
function cpuTable(runs: { name: string; use: CpuUse; seconds: number }[], orders: number): string[] {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.use)))];
  if (names.every((n) => runs[0]!.use[n] === undefined)) return ['CPU per order: not measured (needs /proc)'];
  const perOrder = (ms: number | undefined) => (ms === undefined ? '       —' : fmt(ms / orders));
  const busy = (r: (typeof runs)[number]) => `${r.name} ${((totalCpu(r.use) / 1000 / r.seconds / os.cpus().length) * 100).toFixed(0)} %`;
  return [
    `CPU per order (ms), by process${' '.repeat(14)}${runs.map((r) => r.name.padStart(8)).join(' ')}`,
    ...names.map((n) => `${n.padEnd(44)}${runs.map((r) => perOrder(r.use[n])).join(' ')}`),
    `${'total'.padEnd(44)}${runs.map((r) => perOrder(totalCpu(r.use))).join(' ')}`,
    `cores kept busy (of ${os.cpus().length}): ${runs.map(busy).join(', ')}`,
  ];
}

const totalCpu = (u: CpuUse) => Object.values(u).reduce<number>((a, b) => a + (b ?? 0), 0);

/**
 * What the floor leaves of the goal of 0.5× the naive handler. When both keep
 * the cores busy, orders/s go as the inverse of CPU per order, and a pipeline
 * of a child per order spends at least the floor's CPU on top of the naive
 * handler's work (the same fetch and credit): its ratio to the naive handler
 * is at most naive / (naive + floor).
 */
function ceiling(floor: CpuUse, naive: CpuUse, orders: number): string[] {
  const f = totalCpu(floor) / orders;
  const n = totalCpu(naive) / orders;
  if (!f || !n) return [];
  return [
    `ceiling of a child per order on these cores: naive ${n.toFixed(1)} ms / (naive ${n.toFixed(1)} + floor ${f.toFixed(1)} ms) of CPU per order = ${(n / (n + f)).toFixed(2)}× (0.5× needs the floor at most the naive handler's CPU)`,
  ];
}

/**
 * `npm run worker` with the system's environment, on its task queue;
 * BENCH_WORKER_NODE_FLAGS (space-separated) go to its Node, as
 * `--max-semi-space-size=64` for a larger young generation.
 */
async function spawnWorker(env: Record<string, string>) {
  const { spawn } = await import('node:child_process');
  const nodeFlags = (process.env.BENCH_WORKER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', 'src/worker/main.ts'], { cwd: `${__dirname}/..`, env: { ...process.env, ...env, METRICS_PORT: '0', LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
}

/** SIGTERM (the worker drains its tasks and exits), then wait for the exit. */
function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

runBench(main);
