/**
 * `npm run bench` (scale section), or alone `npm run bench:scale`:
 *
 * 1. Flood: BENCH_FLOOD (default 12,000) order webhooks for one merchant while
 *    no worker runs, posted 32 at a time from another process: how many were answered 200 (or 503),
 *    how long one worker then takes to credit them all, that each is credited
 *    once, and the history length of every run of the merchant's chain
 *    (describe(), the contract's bound is 10,000 events).
 * 2. Merchants: 10 installed, then BENCH_MERCHANTS (default 1,000): the
 *    process's memory (API, worker and sandbox share it, as under npm start)
 *    and the time from an order's creation in BigCommerce to its credit in the
 *    ledger, for 100 orders at 10/s spread over the merchants, at each size.
 *
 * The servers run as `npm start` runs them: Temporal's dev server on a
 * database file, the embedded store on its data directory.
 */
import os from 'node:os';
import { temporal } from '@temporalio/proto';
import { orderTransactionId } from '../src/ledger/ledger';
import { merchantWorkflowId } from '../src/workflows/messages';
import { waitFor } from '../test/helpers/system';
import { eventMs, fmt, load, loadFromAnotherProcess, merchantWithTimedWebhooks, percentiles, runBench, startBench, webhookBody } from './common';

const FLOOD = Number(process.env.BENCH_FLOOD ?? 12_000);
const MERCHANTS = Number(process.env.BENCH_MERCHANTS ?? 1_000);
const SAMPLE_ORDERS = 100;
/** Samples taken at each size; the ratios compare the rounds of median p50 (one 10 s sample is at the mercy of a slow spell). */
const SAMPLE_ROUNDS = Number(process.env.BENCH_SAMPLE_ROUNDS ?? 3);

async function main() {
  const bench = await startBench('bc-bench-scale-');
  const { dir, say, sys } = bench;
  const out: string[] = ['', `scale: ${os.cpus().length} cores, store ${bench.storeKind}, Temporal on a database file`, ''];
  try {
    // 1. Flood.
    if (FLOOD > 0) {
      const id = 'flood';
      const { account, posts } = await merchantWithTimedWebhooks(sys, id);
      const orders = Array.from({ length: FLOOD }, (_, i) => sys.sandbox.createOrder(account.storeHash, { totalIncTax: '2.0000', email: `flood${i % 200}@example.com` }));
      // No task of the merchant left with the worker: one it held would wait out the 60 s task timeout inside the drain's time.
      await sys.stopWorkerWhenSettled(merchantWorkflowId(id));
      const ingest = await loadFromAnotherProcess(
        posts(
          orders.map((o, i) => webhookBody(account.storeHash, 'store/order/created', o.id, `f${i}`)),
          32,
        ),
        dir,
      );
      const statuses = new Map(Object.entries(ingest.statuses).map(([k, v]) => [Number(k), v]));
      const started = performance.now();
      const workerStartedAt = Date.now();
      await sys.startWorker();
      await waitFor(async () => ((await sys.store.ledger.stats(id)).ordersCredited === (statuses.get(200) ?? 0) ? true : undefined), 3_600_000, 'the flood credited', 1_000);
      const drainSeconds = (performance.now() - started) / 1000;
      let balances = 0;
      for (let c = 0; c < 200; c++) balances += (await sys.store.ledger.contactsByEmail(id, `flood${c}@example.com`))[0]?.balance ?? 0;
      const runs: number[] = [];
      let first: { runId: string; at: number } | undefined;
      for await (const run of sys.client.workflow.list({ query: `WorkflowId = "${merchantWorkflowId(id)}"` })) {
        runs.push((await sys.client.workflow.getHandle(run.workflowId, run.runId).describe()).historyLength);
        if (!first || run.startTime.getTime() < first.at) first = { runId: run.runId, at: run.startTime.getTime() };
      }
      const firstTask = await firstTaskAfterFlood(sys, merchantWorkflowId(id), first!.runId, workerStartedAt);
      const w = percentiles(ingest.latencies);
      out.push(
        `flood: ${FLOOD} order webhooks for one merchant, no worker running, 32 concurrent`,
        `  answered ${[...statuses].map(([s, n]) => `${n} × ${s}`).join(', ')} in ${ingest.seconds.toFixed(1)} s (${(FLOOD / ingest.seconds).toFixed(0)} req/s; p50 ${w.p50.toFixed(1)} ms, p99 ${w.p99.toFixed(1)} ms)`,
        `  one worker then credited them in ${drainSeconds.toFixed(1)} s (${((statuses.get(200) ?? 0) / drainSeconds).toFixed(1)} orders/s); ordersCredited ${(await sys.store.ledger.stats(id)).ordersCredited}, points ${balances} (expected ${2 * (statuses.get(200) ?? 0)})`,
        `  merchant runs in the chain: ${runs.length}; history events per run: max ${Math.max(...runs)}, all ${runs.join(' ')}`,
        `  the flood reached the first run as ${firstTask.signals} signals; the worker's first task of it took ${firstTask.ms} ms (task timeout ${firstTask.timeoutS} s)`,
        '',
      );
    }

    // 2. Merchants.
    const merchants: { id: string; storeHash: string }[] = [];
    const grow = async (to: number) => {
      const from = merchants.length;
      const started = performance.now();
      await load(to - from, 8, async (i) => {
        const id = `m${from + i}`;
        const account = sys.newStore();
        await sys.installActive(id, account);
        merchants.push({ id, storeHash: account.storeHash });
      });
      say(`installed ${to - from} merchants in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    };
    const sample = async () => {
      const placed: { merchantId: string; orderId: number; at: number }[] = [];
      for (let i = 0; i < SAMPLE_ORDERS; i++) {
        const m = merchants[Math.floor((i * merchants.length) / SAMPLE_ORDERS)]!;
        const o = sys.sandbox.createOrder(m.storeHash, { totalIncTax: '5.0000', email: `s${i}@example.com` });
        placed.push({ merchantId: m.id, orderId: o.id, at: Date.now() });
        await new Promise((r) => setTimeout(r, 100));
      }
      const latencies = await waitFor(async () => {
        const txs = await Promise.all(placed.map((p) => sys.store.ledger.transaction(orderTransactionId(p.merchantId, p.orderId))));
        return txs.every(Boolean) ? txs.map((t, i) => t!.createdAt.getTime() - placed[i]!.at) : undefined;
      }, 600_000, 'the sample credited', 500);
      global.gc?.();
      const mem = process.memoryUsage();
      return { ...percentiles(latencies), rssMb: mem.rss / 2 ** 20, heapMb: mem.heapUsed / 2 ** 20 };
    };
    /** SAMPLE_ROUNDS samples: the one of median p50, each one's p50, and the memory after the last. */
    const rounds = async () => {
      const taken: Awaited<ReturnType<typeof sample>>[] = [];
      for (let r = 0; r < SAMPLE_ROUNDS; r++) taken.push(await sample());
      const last = taken[taken.length - 1]!;
      const median = [...taken].sort((x, y) => x.p50 - y.p50)[Math.floor(taken.length / 2)]!;
      return { ...median, rssMb: last.rssMb, heapMb: last.heapMb, p50s: taken.map((t) => t.p50.toFixed(0)).join(', ') };
    };
    await grow(10);
    const small = await rounds();
    await grow(MERCHANTS);
    const large = await rounds();
    out.push(
      `merchants: ${SAMPLE_ROUNDS} samples at each size of ${SAMPLE_ORDERS} orders at 10/s spread over the merchants, order created → credited (ms), the sample of median p50 (p50 of each: 10 merchants ${small.p50s}; ${MERCHANTS} merchants ${large.p50s}); memory of the process (API + worker + sandbox) after the last`,
      '                      p50      p95      max   RSS MB  heap MB',
      `  ${'10 merchants'.padEnd(15)}${fmt(small.p50)} ${fmt(small.p95)} ${fmt(small.max)} ${fmt(small.rssMb)} ${fmt(small.heapMb)}`,
      `  ${`${MERCHANTS} merchants`.padEnd(15)}${fmt(large.p50)} ${fmt(large.p95)} ${fmt(large.max)} ${fmt(large.rssMb)} ${fmt(large.heapMb)}`,
      `  ${'ratio'.padEnd(15)}${fmt(large.p50 / small.p50)} ${fmt(large.p95 / small.p95)} ${fmt(large.max / small.max)} ${fmt(large.rssMb / small.rssMb)} ${fmt(large.heapMb / small.heapMb)}`,
      '',
    );
    process.stdout.write(out.join('\n'));
  } finally {
    await bench.stop();
  }
}

/**
 * The first run of the flooded merchant: how many signals the flood made of its
 * webhooks, and how long the worker's first task after its return took (it
 * replays every one of them; the merchant's task timeout has to cover it).
 */
async function firstTaskAfterFlood(sys: Awaited<ReturnType<typeof startBench>>['sys'], workflowId: string, runId: string, workerStartedAt: number) {
  const history = await sys.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const type = temporal.api.enums.v1.EventType;
  const done = events.findIndex((e) => e.eventType === type.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && eventMs(e) >= workerStartedAt);
  const timeout = events[0]?.workflowExecutionStartedEventAttributes?.workflowTaskTimeout;
  return {
    signals: events.filter((e) => e.eventType === type.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).length,
    ms: done > 0 ? eventMs(events[done]!) - eventMs(events[done - 1]!) : NaN,
    timeoutS: Number(timeout?.seconds ?? 0),
  };
}

runBench(main);
