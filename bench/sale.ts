/**
 * `npm run bench` (sale section), or alone `npm run bench:sale`: a sale that
 * lasts, not a 2 s burst. BENCH_SALE_SECONDS (default 20) of order webhooks
 * at BENCH_RATE req/s (default 500), open loop from another process, to one
 * merchant, with the worker running in the API's process as under
 * `npm start`. Printed: the ack percentiles over the whole sale and per 2 s
 * slice (a continue-as-new or a backlog shows where it happens), orders
 * credited during the sale and in the 10 s after it (the worker yields to
 * ingest: src/worker/ingest-first.ts), the time until all are credited, and
 * what the merchant workflow's runs did (bench/common.ts `merchantActivity`):
 * the runs it took, continue-as-new tasks refused, and how long its work
 * waited; the signals and updates Temporal refused as busy meanwhile, and
 * when (bench/common.ts `refusedAsBusy`). Then the longest stretches in
 * which no order was credited, and the redemptions shoppers asked for during
 * the sale (BENCH_SALE_REDEMPTIONS, default 5, evenly spread): each one's
 * answer and how long it took (the merchant workflow's update, which waits
 * for the merchant's next task).
 *
 * The servers run as `npm start` runs them: Temporal's dev server on a
 * database file, the embedded store on its data directory.
 */
import os from 'node:os';
import { merchantWorkflowId } from '../src/workflows/messages';
import { waitFor } from '../test/helpers/system';
import { fmt, freshMerchantRun, loadFromAnotherProcess, merchantActivity, merchantWithTimedWebhooks, percentiles, refusedAsBusy, runBench, startBench, timedRedemption, webhookBody } from './common';

const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SALE_SECONDS ?? 20);
const SLICE_SECONDS = 2;
const REDEMPTIONS = Number(process.env.BENCH_SALE_REDEMPTIONS ?? 5);

async function main() {
  const bench = await startBench('bc-bench-sale-');
  const { dir, say, sys } = bench;
  try {
    const id = 'sale';
    const { account, posts } = await merchantWithTimedWebhooks(sys, id);
    const newOrders = (n: number) =>
      Array.from({ length: n }, (_, i) => sys.sandbox.createOrder(account.storeHash, { totalIncTax: '25.0000', email: `sale${i % 50}@example.com`, customerId: 1 + (i % 50) }));
    const webhooks = (orders: { id: number }[], concurrency: number) =>
      posts(orders.map((o) => webhookBody(account.storeHash, 'store/order/created', o.id, `h${o.id}`)), concurrency);
    const credited = async () => (await sys.store.ledger.stats(id)).ordersCredited;
    let accepted = 0;
    const allCredited = () => waitFor(async () => ((await credited()) >= accepted ? true : undefined), 1_800_000, `${accepted} credited`, 100);

    // Warm-up, then a fresh merchant run, so that the sale starts where any run starts.
    accepted += (await loadFromAnotherProcess(webhooks(newOrders(50), 8), dir)).statuses['200'] ?? 0;
    await allCredited();
    await freshMerchantRun(sys.client, merchantWorkflowId(id), () => sys.settled(merchantWorkflowId(id)));

    const n = RATE * SECONDS;
    const orders = newOrders(n);
    const before = await credited();
    const refusedBefore = await refusedAsBusy(bench.temporalMetricsUrl);
    const from = Date.now();
    const t0 = performance.now();
    // Orders credited, sampled every 250 ms from the start of the sale until all are credited.
    const samples: Array<{ s: number; credited: number }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push({ s: (performance.now() - t0) / 1000, credited: (await credited()) - before });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    // Signals and updates Temporal refused as busy, every second for the sale and the minute after it (the server's
    // metrics page is over 400 kB, each read tens of ms of its time on the cores the bench measures), then at the end.
    const refused: Array<{ s: number; signals: number; updates: number }> = [{ s: 0, signals: 0, updates: 0 }];
    const readRefused = async () => {
      const r = await refusedAsBusy(bench.temporalMetricsUrl);
      refused.push({ s: (performance.now() - t0) / 1000, signals: r.signals - refusedBefore.signals, updates: r.updates - refusedBefore.updates });
    };
    const refusedSampler = (async () => {
      while (sampling && performance.now() - t0 < (SECONDS + 60) * 1000) {
        await readRefused();
        await new Promise((r) => setTimeout(r, 1_000));
      }
    })();
    // Shoppers who spend points while the sale goes on: one redemption of 10 points every SECONDS / REDEMPTIONS, each from its own contact.
    const contacts = await Promise.all(Array.from({ length: REDEMPTIONS }, async (_, i) => (await sys.contact(id, `sale${i}@example.com`))!.id));
    const redemptions = Promise.all(
      contacts.map(async (contactId, i) => {
        await new Promise((r) => setTimeout(r, ((i + 0.5) * SECONDS * 1000) / REDEMPTIONS));
        return timedRedemption(sys, id, contactId, `sale-${Date.now()}-${i}`, 10);
      }),
    );
    const sale = await loadFromAnotherProcess({ ...webhooks(orders, 32), rate: RATE }, dir);
    accepted += sale.statuses['200'] ?? 0;
    const saleSeconds = (performance.now() - t0) / 1000;
    const duringSale = (await credited()) - before;
    await new Promise((r) => setTimeout(r, 10_000));
    const tenAfter = (await credited()) - before;
    await allCredited();
    const allSeconds = (performance.now() - t0) / 1000;
    sampling = false;
    await Promise.all([sampler, refusedSampler]);
    await readRefused();
    const merchant = await merchantActivity(sys.client, merchantWorkflowId(id), from, Date.now());
    const redeemed = await redemptions;

    // The longest stretches after the sale in which the count of credited orders did not move.
    const stalls: Array<{ from: number; to: number; at: number }> = [];
    for (let i = 1, since = 0; i < samples.length; i++) {
      if (samples[i]!.credited !== samples[since]!.credited) {
        if (samples[since]!.s >= saleSeconds && samples[i]!.s - samples[since]!.s >= 2) stalls.push({ from: samples[since]!.s, to: samples[i]!.s, at: samples[since]!.credited });
        since = i;
      }
    }
    stalls.sort((a, b) => b.to - b.from - (a.to - a.from));
    // When Temporal refused the merchant's signals and updates as busy: the readings in which the count rose.
    const refusals = (kind: 'signals' | 'updates') => {
      const rises: string[] = [];
      for (let i = 1; i < refused.length; i++) {
        const rise = refused[i]![kind] - refused[i - 1]![kind];
        if (rise > 0) rises.push(`+${rise} by ${refused[i]!.s.toFixed(1)} s`);
      }
      const total = refused.at(-1)?.[kind] ?? 0;
      return total === 0 ? 'none' : `${total} (${rises.join(', ')})`;
    };

    const all = percentiles(sale.latencies);
    const statuses = Object.entries(sale.statuses).map(([k, v]) => `${v} × ${k}`).join(', ');
    const slices: string[] = [];
    for (let i = 0; i < n; i += RATE * SLICE_SECONDS) {
      const p = percentiles(sale.latencies.slice(i, i + RATE * SLICE_SECONDS));
      slices.push(`  ${String(i / RATE).padStart(3)}–${String((i + RATE * SLICE_SECONDS) / RATE).padEnd(3)} s ${fmt(p.p50)} ${fmt(p.p99)} ${fmt(p.max)}`);
    }
    const out = [
      '',
      `sale: ${n} order webhooks at ${RATE}/s (${SECONDS} s), open loop, concurrency 32, worker in the API's process (as npm start), ${os.cpus().length} cores, store ${bench.storeKind}`,
      '',
      'ack (ms)                p50      p95      p99      max    req/s',
      `whole sale         ${fmt(all.p50)} ${fmt(all.p95)} ${fmt(all.p99)} ${fmt(all.max)} ${fmt(n / sale.seconds)}   (${statuses})`,
      'per slice              p50      p99      max',
      ...slices,
      '',
      `orders credited during the sale (${saleSeconds.toFixed(1)} s): ${duringSale}; 10 s after it: ${tenAfter}; all ${n} in ${allSeconds.toFixed(1)} s from the sale's start (${(n / allSeconds).toFixed(1)} orders/s)`,
      `no order credited for 2 s or more after the sale: ${stalls.length ? stalls.slice(0, 5).map((s) => `${(s.to - s.from).toFixed(1)} s at ${s.at}`).join(', ') : 'never'}`,
      `sale until all credited: ${merchant}`,
      `refused by Temporal as busy (BusyWorkflow: its run is closing, a continue-as-new being tried again), sale until all credited: signals ${refusals('signals')}; updates ${refusals('updates')}`,
      `redemptions during the sale (POST, one every ${(SECONDS / Math.max(1, REDEMPTIONS)).toFixed(1)} s): ${redeemed.map((r) => `${r.status} in ${r.ms.toFixed(0)} ms`).join(', ') || 'none asked for'}`,
      '',
    ];
    process.stdout.write(out.join('\n'));
  } finally {
    await bench.stop();
  }
}

runBench(main);
