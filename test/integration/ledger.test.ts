import { spawn } from 'node:child_process';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Types } from 'mongoose';
import { createLedgerActivities } from '../../src/activities/ledger';
import { contactChain, contactFold, Ledger, orderTransactionId, refundTransactionId } from '../../src/ledger/ledger';
import { LEDGER_MIGRATION, migrateLedger, MigrationRequiredError } from '../../src/ledger/migrate';
import type { TransactionDoc } from '../../src/ledger/models';
import { Chains } from '../../src/ledger/postings';
import type { OrderSnapshot } from '../../src/workflows/messages';
import { openStore } from '../../src/store';
import { startSystem, type System, uniqueId, waitFor } from '../helpers/system';
import { childEnv, startWorkerProcess } from '../helpers/worker-process';

/**
 * Rule 7 and issue "reads stay fast": balances and counts are running totals on
 * chains of postings; they must equal the sum and count of the transactions
 * under concurrency, duplicates, a crash between any two writes, and after
 * migrating a ledger written by an older version.
 */
let sys: System;
let ledger: Ledger;
beforeAll(async () => {
  // A merchant task that the killed worker had started waits out this timeout before the next worker
  // takes it: Temporal's default 10 s here, not the product's 60 s (made for replaying long runs).
  sys = await startSystem({ merchantTaskTimeout: 10 });
  ledger = sys.store.ledger;
});
afterAll(async () => {
  await sys?.stop();
});

const order = (merchantId: string, contactId: Types.ObjectId, orderId: number, points: number): Omit<TransactionDoc, 'createdAt'> => ({
  _id: orderTransactionId(merchantId, orderId),
  merchantId,
  contactId,
  type: 'order',
  orderId,
  refundId: null,
  amount: `${points}.0000`,
  currency: 'USD',
  defaultAmount: `${points}.0000`,
  defaultCurrency: 'USD',
  exchangeRate: null,
  points,
});

const refund = (merchantId: string, contactId: Types.ObjectId, orderId: number, refundId: number, points: number): Omit<TransactionDoc, 'createdAt'> => ({
  ...order(merchantId, contactId, orderId, 0),
  _id: refundTransactionId(merchantId, refundId),
  type: 'refund',
  refundId,
  amount: `${-points}.0000`,
  points,
});

/**
 * The ledger's figures against the transactions themselves, read the slow way:
 * every contact's balance is the sum of its transactions and its chain lists
 * each of them once; the merchant's counts are the numbers of orders and refunds.
 */
async function expectExact(merchantId: string) {
  const { Transaction, Contact, Posting } = ledger.models;
  const txs = await Transaction.find({ merchantId }).lean();
  const contacts = await Contact.find({ merchantId }).lean();
  expect(contacts.length).toBeGreaterThan(0);
  for (const c of contacts) {
    const own = txs.filter((t) => t.contactId.equals(c._id));
    const view = await ledger.contact(merchantId, c._id.toHexString());
    expect(view!.balance).toBe(own.reduce((n, t) => n + t.points, 0));
    const listed = await ledger.transactions(merchantId, c._id.toHexString(), 200);
    expect(listed.transactions.map((t) => t.id).sort()).toEqual(own.map((t) => t._id).sort());
    const postings = await Posting.find({ chain: contactChain(c._id) }).lean();
    expect(postings.map((p) => p.seq).sort((a, b) => a - b)).toEqual(own.map((_, i) => i + 1));
  }
  expect(await ledger.stats(merchantId)).toEqual({
    ordersCredited: txs.filter((t) => t.type === 'order').length,
    refundsDeducted: txs.filter((t) => t.type === 'refund').length,
  });
  return { transactions: txs.length, contacts: contacts.length };
}

test('concurrent writes, each sent three times through three ledgers (as by three processes): one posting per transaction, balances and counts exact', async () => {
  const m = uniqueId('conc');
  // A ledger queues its own appends to a chain; three ledgers race in the store as three worker processes would.
  const processes = [ledger, new Ledger(sys.store.connection), new Ledger(sys.store.connection)];
  const contacts = await Promise.all(['a', 'b', 'c'].map((e) => ledger.contactFor(m, `${e}@example.com`, null)));
  const writes = Array.from({ length: 45 }, (_, i) =>
    i % 9 === 8 ? refund(m, contacts[i % 3]!._id, i - 3, 1000 + i, -(i % 5) - 1) : order(m, contacts[i % 3]!._id, i, 10 + i),
  );
  const results = await Promise.all(writes.flatMap((w) => processes.map((p) => p.record(w))));
  expect(results.filter((r) => r.created)).toHaveLength(45);
  const figures = await expectExact(m);
  expect(figures).toEqual({ transactions: 45, contacts: 3 });
  expect(await ledger.stats(m)).toEqual({ ordersCredited: 40, refundsDeducted: 5 });
});

test("one process's concurrent writes to one contact wait for each other: one posting insert per posting", async () => {
  const m = uniqueId('queue');
  const own = new Ledger(sys.store.connection);
  const contact = await own.contactFor(m, 'q@example.com', null);
  const postings = own.models.Posting.collection;
  const insert = postings.insertOne.bind(postings);
  let inserts = 0;
  const counted = jest.spyOn(postings, 'insertOne').mockImplementation(((...args: Parameters<typeof insert>) => {
    inserts++;
    return insert(...args);
  }) as never);
  try {
    await Promise.all(Array.from({ length: 30 }, (_, i) => own.record(order(m, contact._id, i, 1))));
  } finally {
    counted.mockRestore();
  }
  expect(inserts).toBe(60); // 30 on the contact's chain, 30 on the merchant's stats chains; racing, 200 and more
  expect(await expectExact(m)).toEqual({ transactions: 30, contacts: 1 });
});

test('an append reads the head hint and the posting it names, nothing more; behind a lagging hint it walks on to the head', async () => {
  const m = uniqueId('reads');
  const contact = await ledger.contactFor(m, 'r@example.com', null);
  const chain = contactChain(contact._id);
  const chains = new Chains(ledger.models.Posting, ledger.models.Head);
  const { Posting, Head } = ledger.models;
  const append = async (orderId: number) => {
    const tx = { ...order(m, contact._id, orderId, orderId), createdAt: new Date() };
    return chains.append(chain, tx._id, (previous) => contactFold(previous, tx));
  };
  const postingReads = jest.spyOn(Posting, 'findById');
  const hintReads = jest.spyOn(Head, 'findById');
  try {
    for (let i = 1; i <= 10; i++) await append(i); // one after another: none is handed the one before it
    // One hint read per append, one posting read per append after the first (whose hint is 0).
    // Probing from the hint as reads do, it was 19: the hinted posting and the next, free seq.
    expect(hintReads).toHaveBeenCalledTimes(10);
    expect(postingReads).toHaveBeenCalledTimes(9);
  } finally {
    postingReads.mockRestore();
    hintReads.mockRestore();
  }
  await Head.updateOne({ _id: chain }, { $set: { seq: 3 } });
  expect(await append(11)).toMatchObject({ seq: 11, balance: 66 });
  expect(await ledger.balance(contact._id)).toBe(66);
});

test('an append that hangs holds the next one on its chain for the wait bound only', async () => {
  const m = uniqueId('hang');
  const contact = await ledger.contactFor(m, 'h@example.com', null);
  const chains = new Chains(ledger.models.Posting, ledger.models.Head, 300);
  const postings = ledger.models.Posting.collection;
  const hung = jest.spyOn(postings, 'insertOne').mockImplementationOnce((() => new Promise(() => undefined)) as never);
  try {
    const first = { ...order(m, contact._id, 1, 1), createdAt: new Date() };
    const second = { ...order(m, contact._id, 2, 2), createdAt: new Date() };
    void chains.append(contactChain(contact._id), first._id, (previous) => contactFold(previous, first));
    const started = Date.now();
    const posted = await chains.append(contactChain(contact._id), second._id, (previous) => contactFold(previous, second));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(posted).toMatchObject({ seq: 1, txId: second._id, balance: 2 });
  } finally {
    hung.mockRestore();
  }
});

test('racing first orders of one email make one contact', async () => {
  const m = uniqueId('race');
  const made = await Promise.all(Array.from({ length: 12 }, (_, i) => ledger.contactFor(m, 'same@example.com', i === 5 ? 77 : null)));
  expect(new Set(made.map((c) => c._id.toHexString())).size).toBe(1);
  expect(await ledger.models.Contact.countDocuments({ merchantId: m })).toBe(1);
  expect((await ledger.contactsByEmail(m, ' SAME@example.com '))[0]!.id).toBe(made[0]!._id.toHexString());
});

test('a crash between any two writes: the retry completes the job, never twice', async () => {
  const m = uniqueId('crash');
  const { ContactKey, Contact, Transaction, Head } = ledger.models;
  const chains = new Chains(ledger.models.Posting, ledger.models.Head);

  // 1. The contact key is written, the contact is not.
  const keyed = new Types.ObjectId();
  await ContactKey.collection.insertOne({ _id: `${m}:k@example.com`, contactId: keyed } as never);
  const contact = await ledger.contactFor(m, 'k@example.com', 5);
  expect(contact._id.equals(keyed)).toBe(true);
  expect(await Contact.countDocuments({ merchantId: m })).toBe(1);

  // 2. The transaction is written, not posted: not yet visible; the retried write posts it once.
  await ledger.record(order(m, contact._id, 1, 10));
  await Transaction.create({ ...order(m, contact._id, 2, 20), createdAt: new Date() });
  expect((await ledger.contact(m, contact._id.toHexString()))!.balance).toBe(10);
  expect(await ledger.stats(m)).toEqual({ ordersCredited: 1, refundsDeducted: 0 });
  expect((await ledger.record(order(m, contact._id, 2, 20))).created).toBe(false);
  expect((await ledger.contact(m, contact._id.toHexString()))!.balance).toBe(30);

  // 3. Posted on the contact's chain, not on the merchant's stats chain.
  const third = { ...order(m, contact._id, 3, 5), createdAt: new Date() };
  await Transaction.create(third);
  await chains.append(contactChain(contact._id), third._id, (previous) => contactFold(previous, third));
  expect(await ledger.stats(m)).toEqual({ ordersCredited: 2, refundsDeducted: 0 });
  await ledger.record(order(m, contact._id, 3, 5));
  expect((await ledger.contact(m, contact._id.toHexString()))!.balance).toBe(35);

  // 4. Posted, the head hint not moved (or moved back by a racing update): a lower bound is all it needs to be.
  await Head.updateOne({ _id: contactChain(contact._id) }, { $set: { seq: 1 } });
  expect((await ledger.contact(m, contact._id.toHexString()))!.balance).toBe(35);
  await Head.deleteOne({ _id: contactChain(contact._id) });
  await ledger.record(refund(m, contact._id, 1, 9, -4));
  expect((await ledger.contact(m, contact._id.toHexString()))!.balance).toBe(31);

  expect(await expectExact(m)).toEqual({ transactions: 4, contacts: 1 });
});

test("a credit repeated within its own workflow run (a local activity re-run after its task failed) is that run's credit; another run's is already_credited", async () => {
  const m = uniqueId('rerun');
  await sys.store.merchants.saveInstall({ merchantId: m, storeHash: `s${m}`, apiBase: 'x', clientId: 'x', name: null, accessToken: 'x', clientSecret: null, pointsPerCurrencyUnit: '1.0000' });
  const activities = createLedgerActivities({ store: sys.store });
  const order: OrderSnapshot = { orderId: 7, statusId: 11, totalIncTax: '12.0000', currency: 'USD', email: 'r@example.com', customerId: null, placedAt: Date.now() };
  const inRun = (runId: string) => new MockActivityEnvironment({ workflowExecution: { workflowId: `bigcommerce-order:${m}:7`, runId } });
  const first = inRun('run-1');
  expect(await first.run(activities.creditOrder, { merchantId: m, order })).toMatchObject({ outcome: 'credited' });
  expect(await first.run(activities.creditOrder, { merchantId: m, order })).toMatchObject({ outcome: 'credited' });
  expect(await inRun('run-2').run(activities.creditOrder, { merchantId: m, order })).toMatchObject({ outcome: 'already_credited' });
  expect(await expectExact(m)).toEqual({ transactions: 1, contacts: 1 });
});

test('transaction pages: newest first, cursors to the end, a foreign cursor is refused', async () => {
  const m = uniqueId('pages');
  const c = await ledger.contactFor(m, 'p@example.com', null);
  for (let i = 1; i <= 45; i++) await ledger.record(order(m, c._id, i, i));
  const pages = [];
  let cursor: string | undefined;
  do {
    const page = await ledger.transactions(m, c._id.toHexString(), 20, cursor);
    pages.push(page.transactions.map((t) => t.orderId));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  expect(pages.map((p) => p.length)).toEqual([20, 20, 5]);
  expect(pages.flat()).toEqual(Array.from({ length: 45 }, (_, i) => 45 - i));
  await expect(ledger.transactions(m, c._id.toHexString(), 20, 'eyJ0IjoxLCJpZCI6IngifQ')).rejects.toThrow('cursor is not one this API gave out');
  // Exactly one page: no cursor to an empty one.
  const d = await ledger.contactFor(m, 'q@example.com', null);
  for (let i = 100; i < 120; i++) await ledger.record(order(m, d._id, i, 1));
  expect((await ledger.transactions(m, d._id.toHexString(), 20)).nextCursor).toBeNull();
});

test('a ledger written by the previous version (no contact keys, no postings) is migrated exactly, once', async () => {
  const m = uniqueId('old');
  const { Contact, Transaction, Migration } = ledger.models;
  const ids = [new Types.ObjectId(), new Types.ObjectId()];
  await Contact.collection.insertMany(ids.map((_id, i) => ({ _id, merchantId: m, email: `old${i}@example.com`, bigcommerceCustomerId: null, createdAt: new Date() })) as never[]);
  const old = Array.from({ length: 30 }, (_, i) => ({
    ...(i % 10 === 9 ? refund(m, ids[i % 2]!, i - 2, 500 + i, -3) : order(m, ids[i % 2]!, i, 7 + i)),
    createdAt: new Date(Date.now() - 100_000 + i * 1000),
  }));
  await Transaction.collection.insertMany(old as never[]);
  expect((await ledger.contactsByEmail(m, 'old0@example.com')).length).toBe(0); // not found before the migration

  await Migration.deleteOne({ _id: LEDGER_MIGRATION });
  const summary = await migrateLedger(ledger);
  expect(summary!.contactKeys).toBe(2);
  expect(summary!.posted).toBe(30);
  expect(await migrateLedger(ledger)).toBeNull();

  expect(await expectExact(m)).toEqual({ transactions: 30, contacts: 2 });
  const [c0] = await ledger.contactsByEmail(m, 'old0@example.com');
  const page = await ledger.transactions(m, c0!.id, 3);
  expect(page.transactions.map((t) => t.orderId)).toEqual([28, 26, 24]); // in the order they were written
  // New writes continue the migrated chains.
  await ledger.record(order(m, ids[0]!, 1000, 1));
  expect(await expectExact(m)).toEqual({ transactions: 31, contacts: 2 });
});

test('production processes refuse an unmigrated store, naming npm run migrate; the command migrates it', async () => {
  const uri = `${sys.env.MONGODB_URI}_prod`;
  await expect(openStore(uri, sys.config.ENCRYPTION_KEY, { schema: 'require' })).rejects.toThrow(MigrationRequiredError);
  await expect(openStore(uri, sys.config.ENCRYPTION_KEY, { schema: 'require' })).rejects.toThrow('run npm run migrate');

  const root = path.resolve(__dirname, '..', '..');
  const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/ops/migrate-cli.ts'], {
      cwd: root,
      env: childEnv({ ...sys.env, MONGODB_URI: uri, LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
  expect(run.out).toContain('postings: 1 index(es) besides _id in place');
  expect(run.out).toMatch(/ledger: 0 contact key\(s\) written, 0 of 0 transaction\(s\) posted/);
  expect(run.code).toBe(0);

  const store = await openStore(uri, sys.config.ENCRYPTION_KEY, { schema: 'require' });
  const indexes = await store.ledger.models.Posting.collection.indexes();
  expect(indexes.find((i) => i.name === 'chain_txId')).toMatchObject({ unique: true });
  await store.connection.dropDatabase();
  await store.close();
}, 60_000);

test('webhooks sent three times each, refunds among them: balances and counts equal the transactions', async () => {
  const m = uniqueId('dups');
  const account = sys.newStore();
  await sys.installActive(m, account);
  sys.sandbox.delivery.copies = 3;
  try {
    const orders = Array.from({ length: 60 }, (_, i) => sys.sandbox.createOrder(account.storeHash, { totalIncTax: `${10 + (i % 7)}.5000`, email: `d${i % 6}@example.com` }));
    for (const o of orders.slice(0, 8)) sys.sandbox.createRefund(account.storeHash, o.id, 4);
    await waitFor(async () => {
      const s = (await sys.state(m)).body.stats;
      return s.ordersCredited === 60 && s.refundsDeducted === 8 ? true : undefined;
    }, 90_000, '60 orders and 8 refunds');
  } finally {
    sys.sandbox.delivery.copies = 1;
  }
  await sys.sandbox.delivery.idle();
  expect(await expectExact(m)).toEqual({ transactions: 68, contacts: 6 });
}, 120_000);

test('a worker process killed (SIGKILL) in the middle of a backlog: the next worker finishes it, balances and counts exact', async () => {
  const m = uniqueId('kill');
  const account = sys.newStore();
  await sys.installActive(m, account);
  await sys.stopWorkerWhenSettled(`bigcommerce-merchant:${m}`);
  for (let i = 0; i < 150; i++) sys.sandbox.createOrder(account.storeHash, { totalIncTax: `${1 + (i % 4)}.0000`, email: `k${i % 5}@example.com` });
  await sys.sandbox.delivery.idle();

  const worker = startWorkerProcess({ ...sys.env, METRICS_PORT: '0' }, { logLevel: 'warn' });
  // Killed mid-backlog, wherever its tasks are. While the children end, the merchant has a task started
  // nearly all the time: the next worker takes it once the merchant's task timeout (10 s in this file)
  // has passed. The children's tasks and local activities are killed wherever they are too.
  const merchant = `bigcommerce-merchant:${m}`;
  expect(Number((await sys.client.workflow.getHandle(merchant).describe()).raw.executionConfig!.defaultWorkflowTaskTimeout!.seconds)).toBe(10);
  try {
    await worker.whileRunning(waitFor(async () => (((await sys.state(m)).body.stats.ordersCredited as number) >= 20 ? true : undefined), 90_000, 'the worker process to credit some orders', 250));
  } finally {
    await worker.stop('SIGKILL');
  }
  await sys.resetSticky(merchant); // its next task goes to the next worker at once, not to the dead one's sticky queue
  const creditedWhenKilled = (await sys.state(m)).body.stats.ordersCredited as number;
  expect(creditedWhenKilled).toBeLessThan(150);

  await sys.startWorker();
  await waitFor(async () => ((await sys.state(m)).body.stats.ordersCredited === 150 ? true : undefined), 120_000, 'all 150 credited');
  expect(await expectExact(m)).toEqual({ transactions: 150, contacts: 5 });
}, 240_000);
