/**
 * `npm run bench` (quota section), or alone `npm run bench:quota`: a sale on a
 * BigCommerce Standard plan. BENCH_SALE (default 800) orders are placed at once
 * in a store whose quota is 150 requests per 30 s (BIGCOMMERCE.md, rate limits);
 * the sandbox delivers their webhooks. Printed: order created → credited, the
 * rate against what our share of the quota allows (RATE_LIMIT_SHARE), BigCommerce
 * calls per order and 429s (none expected: requests wait, they are not refused),
 * the wait each request spent for the quota, and the workflow tasks per order
 * (an order's fetch is a local activity that waits inside its task; the SDK
 * heartbeats a task that waits long). Meanwhile REDEMPTIONS redemptions are
 * asked for, one every 15 s: while the orders' tasks wait for the quota in
 * the worker's slots, is the merchant workflow's update still served? And
 * what the merchant workflow did over the sale (bench/common.ts).
 *
 * The servers run as `npm start` runs them: Temporal's dev server on a
 * database file, the embedded store on its data directory.
 */
import os from 'node:os';
import { temporal } from '@temporalio/proto';
import { orderTransactionId } from '../src/ledger/ledger';
import { registry } from '../src/observability/metrics';
import { merchantWorkflowId, orderWorkflowId } from '../src/workflows/messages';
import { waitFor } from '../test/helpers/system';
import { fmt, merchantActivity, percentiles, runBench, startBench, timedRedemption } from './common';

const SALE = Number(process.env.BENCH_SALE ?? 800);
const PLAN = { quota: 150, windowMs: 30_000 };
const REDEMPTIONS = 10;

/** Requests waiting for the quota: count, and the share that waited past each bucket bound. */
async function rateWaits() {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'loyalty_bigcommerce_rate_wait_seconds');
  const live = (metric?.values ?? []).filter((v) => v.labels.priority === 'live');
  const count = live.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value ?? 0;
  const buckets = live.filter((v) => (v as { metricName?: string }).metricName?.endsWith('_bucket')).map((v) => ({ le: Number(v.labels.le), n: v.value }));
  return { count, buckets };
}

async function main() {
  const bench = await startBench('bc-bench-quota-');
  const { say, sys } = bench;
  try {
    const store = sys.sandbox.createStore({ rateLimit: PLAN });
    const account = sys.sandbox.createAccount(store.hash);
    const id = 'sale';
    await sys.installActive(id, account);
    const requestsBefore = sys.sandbox.requests(account.storeHash).length;
    const waitsBefore = await rateWaits();

    const saleFrom = Date.now();
    const placed = Array.from({ length: SALE }, (_, i) => ({ order: sys.sandbox.createOrder(account.storeHash, { totalIncTax: '3.0000', email: `sale${i % 100}@example.com` }), at: Date.now() }));
    const started = performance.now();
    // Redemption i: 3 points of contact sale{i}, once it has them; timed from the POST to its answer.
    const redemptions = (async () => {
      const answers: Array<{ ms: number; status: number }> = [];
      for (let i = 0; i < REDEMPTIONS; i++) {
        await new Promise((r) => setTimeout(r, 15_000));
        const contact = await waitFor(async () => {
          const c = await sys.contact(id, `sale${i}@example.com`);
          return c && c.balance >= 3 ? c : undefined;
        }, 600_000, `sale${i} has 3 points`);
        answers.push(await timedRedemption(sys, id, contact.id, `sale-${i}`, 3));
      }
      return answers;
    })();
    const latencies = await waitFor(
      async () => {
        if ((await sys.store.ledger.stats(id)).ordersCredited < SALE) return undefined;
        const txs = await Promise.all(placed.map((p) => sys.store.ledger.transaction(orderTransactionId(id, p.order.id))));
        return txs.every(Boolean) ? txs.map((t, i) => t!.createdAt.getTime() - placed[i]!.at) : undefined;
      },
      3_600_000,
      'the sale credited',
      1_000,
    );
    const seconds = (performance.now() - started) / 1000;
    say(`credited ${SALE} orders in ${seconds.toFixed(0)} s`);
    const redeemed = await redemptions;
    const merchant = await merchantActivity(sys.client, merchantWorkflowId(id), saleFrom, Date.now());

    const requests = sys.sandbox.requests(account.storeHash).slice(requestsBefore);
    const fetches = requests.filter((r) => r.path.startsWith('/v2/orders/')).length;
    const waits = await rateWaits();
    const waited = waits.count - waitsBefore.count;
    const past = (le: number) => {
      const at = (w: typeof waits) => w.buckets.find((b) => b.le === le)?.n ?? 0;
      return waited - (at(waits) - at(waitsBefore));
    };
    let tasks = 0;
    let maxTasks = 0;
    for (const p of placed) {
      const history = await sys.client.workflow.getHandle(orderWorkflowId(id, p.order.id)).fetchHistory();
      const n = (history.events ?? []).filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length;
      tasks += n;
      maxTasks = Math.max(maxTasks, n);
    }
    const ours = Math.floor(sys.config.RATE_LIMIT_SHARE * PLAN.quota);
    const r = percentiles(redeemed.map((x) => x.ms));
    const byStatus = new Map<number, number>();
    for (const x of redeemed) byStatus.set(x.status, (byStatus.get(x.status) ?? 0) + 1);
    const answeredAs = [...byStatus].map(([status, n]) => `${n} × ${status}`).join(', ');
    const l = percentiles(latencies);
    const out = [
      '',
      `quota: a sale of ${SALE} orders placed at once on a Standard plan (${PLAN.quota} requests per ${PLAN.windowMs / 1000} s; ours ${ours}, RATE_LIMIT_SHARE ${sys.config.RATE_LIMIT_SHARE}), ${os.cpus().length} cores, store ${bench.storeKind}`,
      '',
      `order created → credited (s)      p50 ${fmt(l.p50 / 1000)}   p95 ${fmt(l.p95 / 1000)}   max ${fmt(l.max / 1000)}`,
      `credited ${SALE} in ${seconds.toFixed(1)} s = ${(SALE / seconds).toFixed(2)} orders/s; our share of the quota allows ${((ours * 1000) / PLAN.windowMs).toFixed(2)}/s after the first window`,
      `BigCommerce requests ${requests.length}: ${(fetches / SALE).toFixed(2)} order fetches per order, ${requests.filter((r) => r.status === 429).length} answered 429`,
      `requests that waited for the quota: ${past(0.005)} of ${waited} more than 5 ms, ${past(10)} more than 10 s, ${past(60)} more than 60 s`,
      `order workflow tasks per order: ${(tasks / SALE).toFixed(2)} (max ${maxTasks}); 1 when nothing waits`,
      `redemptions asked for during the sale (one every 15 s): ${redeemed.length}, answered ${answeredAs}; p50 ${r.p50.toFixed(0)} ms, max ${r.max.toFixed(0)} ms`,
      `the sale, until credited: ${merchant}`,
      '',
    ];
    process.stdout.write(out.join('\n'));
  } finally {
    await bench.stop();
  }
}

runBench(main);
