/**
 * `npm run bench` (read section), or alone `npm run bench:reads`: what the
 * dashboard's three reads cost as the ledger grows, through the real API over
 * the real store, started here.
 *
 * 1. One merchant with BENCH_READS_MAIN transactions (default 100,000) over
 *    BENCH_READS_CONTACTS contacts (default 1,000): p50/p95 of 30 calls each of
 *    GET …/bigcommerce, GET …/contacts?email=, GET …/contacts/{id}/transactions?limit=20.
 *    Next to them, in the same run on the same data, the previous version's
 *    queries for the same answers (two countDocuments, a balance aggregate, a
 *    sorted find), a few calls each: the baseline.
 * 2. Other merchants added until the store holds BENCH_READS_TOTAL transactions
 *    (default 1,000,000); the same 30 calls again.
 *
 * The ledger is seeded in bulk (seed-ledger.ts) in the shape Ledger.record()
 * writes, and checked against Ledger.record() before anything is measured.
 */
import os from 'node:os';
import { Types } from 'mongoose';
import { orderTransactionId } from '../src/ledger/ledger';
import type { System } from '../test/helpers/system';
import { seedMerchant, type Seeded } from './seed-ledger';
import { fmt, percentiles, runBench, startBench } from './common';

const MAIN = Number(process.env.BENCH_READS_MAIN ?? 100_000);
const CONTACTS = Number(process.env.BENCH_READS_CONTACTS ?? 1_000);
const TOTAL = Number(process.env.BENCH_READS_TOTAL ?? 1_000_000);
const CALLS = 30;
const BASELINE_CALLS = Number(process.env.BENCH_READS_BASELINE_CALLS ?? 3);

async function main() {
  const bench = await startBench('bc-bench-reads-');
  const { dir, say, sys } = bench;
  const out: string[] = ['', `reads: ${os.cpus().length} cores, store ${bench.storeKind}; p50 / p95 / max in ms over ${CALLS} calls`, ''];
  try {
    await sys.stopWorker(); // reads only: nothing else competes for the cores
    const ledger = sys.store.ledger;
    const get = async (url: string) => {
      const t = performance.now();
      const res = await fetch(`${sys.api}${url}`, { headers: { Authorization: `Bearer ${sys.config.DASHBOARD_API_KEY}` } });
      const body = (await res.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${JSON.stringify(body)}`);
      return { ms: performance.now() - t, body };
    };
    const install = async (merchantId: string) =>
      sys.store.merchants.saveInstall({ merchantId, storeHash: `s${merchantId}`, apiBase: 'x', clientId: 'x', name: null, accessToken: 'x', clientSecret: null, pointsPerCurrencyUnit: '1.0000' });

    const seedStart = performance.now();
    const main = 'reads-main';
    await install(main);
    const seeded = await seedMerchant(ledger, main, CONTACTS, Math.round(MAIN / CONTACTS), say);
    say(`seeded ${MAIN} transactions in ${((performance.now() - seedStart) / 1000).toFixed(0)} s`);
    await check(sys, main, seeded);

    const measure = async (label: string) => {
      const rows: [string, number[]][] = [
        ['GET …/bigcommerce', []],
        ['GET …/contacts?email=', []],
        ['GET …/transactions?limit=20', []],
      ];
      for (let i = 0; i < CALLS; i++) {
        const c = seeded.contacts[(i * 37) % seeded.contacts.length]!;
        const state = await get(`/api/merchants/${main}/bigcommerce`);
        if (state.body.stats.ordersCredited !== seeded.ordersCredited) throw new Error(`stats ${JSON.stringify(state.body.stats)} ≠ seeded ${seeded.ordersCredited}`);
        rows[0]![1].push(state.ms);
        const found = await get(`/api/merchants/${main}/contacts?email=${c.email}`);
        if (found.body.contacts[0]?.balance !== c.balance) throw new Error(`balance of ${c.email}: ${JSON.stringify(found.body)} ≠ ${c.balance}`);
        rows[1]![1].push(found.ms);
        const page = await get(`/api/merchants/${main}/contacts/${c.id}/transactions?limit=20`);
        if (page.body.transactions.length !== 20) throw new Error(`page of ${c.email} has ${page.body.transactions.length} rows`);
        rows[2]![1].push(page.ms);
      }
      out.push(label);
      for (const [name, samples] of rows) {
        const p = percentiles(samples);
        out.push(`  ${name.padEnd(30)} ${fmt(p.p50)} ${fmt(p.p95)} ${fmt(p.max)}`);
      }
    };

    await measure(`one merchant, ${MAIN} transactions over ${CONTACTS} contacts; store total ${MAIN}`);

    // Baseline: the previous version's queries for the same three answers, on the same data.
    const { Transaction, Contact } = ledger.models;
    const timed = async (fn: () => Promise<unknown>) => {
      const samples: number[] = [];
      for (let i = 0; i < BASELINE_CALLS; i++) {
        const t = performance.now();
        await fn();
        samples.push(performance.now() - t);
      }
      return percentiles(samples);
    };
    const c0 = seeded.contacts[0]!;
    const cid = new Types.ObjectId(c0.id);
    const before = [
      ['stats: 2 × countDocuments', () => Promise.all((['order', 'refund'] as const).map((type) => Transaction.countDocuments({ merchantId: main, type })))],
      ['contact by email + balance aggregate', async () => {
        await Contact.find({ merchantId: main, email: c0.email }).lean();
        return Transaction.aggregate([{ $match: { contactId: cid } }, { $group: { _id: '$contactId', total: { $sum: '$points' } } }]);
      }],
      ['transactions page (sorted find)', () => Transaction.find({ merchantId: main, contactId: cid }).sort({ createdAt: -1, _id: -1 }).limit(21).lean()],
    ] as const;
    out.push(`  previous version's queries on the same data (${BASELINE_CALLS} calls each, no HTTP):`);
    for (const [name, fn] of before) {
      const p = await timed(fn);
      out.push(`  ${name.padEnd(36)} ${fmt(p.p50)} ${fmt(p.max)}`);
    }

    // Grow the store with other merchants' ledgers.
    const others = Math.max(0, Math.round((TOTAL - MAIN) / MAIN));
    for (let k = 0; k < others; k++) {
      const t = performance.now();
      await install(`reads-other-${k}`);
      await seedMerchant(ledger, `reads-other-${k}`, CONTACTS, Math.round(MAIN / CONTACTS), say);
      say(`seeded other merchant ${k + 1}/${others} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    }
    if (others > 0) {
      const total = await Transaction.estimatedDocumentCount();
      out.push('');
      await measure(`the same merchant; store total ${total} transactions of ${others + 1} merchants`);
    }
    out.push('');
    process.stdout.write(out.join('\n'));
  } finally {
    await bench.stop();
  }
}

/** The seeded ledger answers like one Ledger.record() wrote: one more order, one more refund, through the ledger's own code. */
async function check(sys: System, merchantId: string, seeded: Seeded) {
  const ledger = sys.store.ledger;
  const c = seeded.contacts[1]!;
  const contactId = new Types.ObjectId(c.id);
  const base = { merchantId, contactId, refundId: null, amount: '3.0000', currency: 'USD', defaultAmount: '3.0000', defaultCurrency: 'USD', exchangeRate: null };
  await ledger.record({ ...base, _id: orderTransactionId(merchantId, 10_000_000), type: 'order', orderId: 10_000_000, points: 3 });
  await ledger.record({ ...base, _id: `refund:${merchantId}:10000001`, type: 'refund', orderId: 10_000_000, refundId: 10_000_001, points: -1 });
  const view = await ledger.contact(merchantId, c.id);
  const stats = await ledger.stats(merchantId);
  const page = await ledger.transactions(merchantId, c.id, 3);
  const ok =
    view?.balance === c.balance + 2 &&
    stats.ordersCredited === seeded.ordersCredited + 1 &&
    stats.refundsDeducted === seeded.refundsDeducted + 1 &&
    page.transactions.map((t) => t.points).join() === '-1,3,-5';
  if (!ok) throw new Error(`seeded ledger disagrees with Ledger.record(): ${JSON.stringify({ view, stats, page: page.transactions.map((t) => t.points), seeded: { balance: c.balance, ...seeded, contacts: undefined } })}`);
  seeded.ordersCredited += 1;
  seeded.refundsDeducted += 1;
  c.balance += 2;
}

runBench(main);
