import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { Keyring } from '../../src/crypto';
import { dataConverter } from '../../src/temporal/codec';
import { installQuietRuntime } from '../helpers/quiet-runtime';
import { startSystem, waitFor } from '../helpers/system';

/**
 * Determinism guard: histories recorded from real runs (install, orders, an
 * incomplete order woken by its status change, refunds, a refund whose order
 * event was lost, uninstall) must replay against the current workflow code.
 * A change that would break running workflows fails here. Each folder holds
 * the histories of one version of the code; older folders are kept, so running
 * workflows of every earlier version are covered.
 * `RECORD_HISTORIES=<yyyy-mm-dd> npx jest test/integration/replay.test.ts` records a new folder.
 */
const dir = path.resolve(__dirname, '..', 'fixtures', 'histories');

interface Fixture {
  workflowId: string;
  /** The throwaway key of the recording run (its payloads are encrypted; sandbox credentials only). */
  encryptionKey: string;
  /** temporal.api.history.v1.History, protobuf bytes in base64. */
  history: string;
}

const label = process.env.RECORD_HISTORIES;

/** Writes one recorded history into the folder of `label`. */
function writeFixture(label: string, file: string, workflowId: string, encryptionKey: string, history: temporal.api.history.v1.IHistory): void {
  const fixture: Fixture = { workflowId, encryptionKey, history: Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('base64') };
  mkdirSync(path.join(dir, label), { recursive: true });
  writeFileSync(path.join(dir, label, file), JSON.stringify(fixture, null, 1) + '\n');
}

if (label) {
  test('record histories', async () => {
    const sys = await startSystem({ reconcileInterval: 5 });
    try {
      const id = 'replay-fixture';
      const account = sys.newStore();
      const old = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '12.0000', email: 'o@example.com', dateCreated: new Date(Date.now() - 86_400_000) });
      await sys.installActive(id, account);
      // A historical import, and an order whose webhook is lost (recovered by the reconciliation).
      const imported = await sys.request('POST', `/api/merchants/${id}/bigcommerce/imports`, { since: new Date(Date.now() - 2 * 86_400_000).toISOString() });
      await sys.client.workflow.getHandle(imported.body.workflowId).result();
      // A redemption whose coupon expires unused.
      const oldContact = await waitFor(() => sys.contact(id, 'o@example.com'));
      await sys.request('POST', `/api/merchants/${id}/contacts/${oldContact.id}/redemptions`, {
        redemptionId: 'replay-redemption',
        points: 5,
        reward: { type: 'amount_off', amount: '1.00' },
        expiresAt: new Date(Date.now() + 2_000).toISOString(),
      });
      await sys.client.workflow.getHandle(`bigcommerce-redemption:${id}:replay-redemption`).result();
      sys.sandbox.delivery.losing = true;
      const missed = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '9.0000', email: 'm@example.com' });
      sys.sandbox.delivery.losing = false;
      const paid = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '100.0000', email: 'a@example.com', customerId: 7 });
      const yen = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '1500.0000', email: 'y@example.com', currency: 'JPY', storeDefaultCurrency: 'USD', exchangeRate: '150.0000000000' });
      const incomplete = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '20.0000', email: 'b@example.com', statusId: 0 });
      const wait = async (wfId: string) => {
        const h = sys.client.workflow.getHandle(wfId);
        await waitFor(() => h.describe().then(() => true));
        return h;
      };
      await (await wait(`bigcommerce-order:${id}:${paid.id}`)).result();
      await (await wait(`bigcommerce-order:${id}:${yen.id}`)).result();
      const inc = await wait(`bigcommerce-order:${id}:${incomplete.id}`);
      sys.sandbox.setOrderStatus(account.storeHash, incomplete.id, 11);
      await inc.result();
      const r1 = sys.sandbox.createRefund(account.storeHash, paid.id, 25);
      await (await wait(`bigcommerce-refund:${id}:${r1.id}`)).result();
      const created = sys.sandbox.hooks(account.storeHash).find((h) => h.scope === 'store/order/created')!;
      sys.sandbox.deactivateHook(account.storeHash, created.id);
      const lost = sys.sandbox.createOrder(account.storeHash, { totalIncTax: '40.0000', email: 'c@example.com' });
      const r2 = sys.sandbox.createRefund(account.storeHash, lost.id, 40);
      await (await wait(`bigcommerce-refund:${id}:${r2.id}`)).result();
      await (await wait(`bigcommerce-order:${id}:${missed.id}`)).result();
      await sys.request('DELETE', `/api/merchants/${id}/bigcommerce`);
      await sys.client.workflow.getHandle(`bigcommerce-merchant:${id}`).result();

      for (const wfId of [
        `bigcommerce-merchant:${id}`,
        `bigcommerce-order:${id}:${paid.id}`,
        `bigcommerce-order:${id}:${yen.id}`,
        `bigcommerce-order:${id}:${incomplete.id}`,
        `bigcommerce-refund:${id}:${r1.id}`,
        `bigcommerce-refund:${id}:${r2.id}`,
        `bigcommerce-order:${id}:${missed.id}`,
        `bigcommerce-order:${id}:${old.id}`,
        imported.body.workflowId,
        `bigcommerce-redemption:${id}:replay-redemption`,
      ]) {
        const history = await sys.client.workflow.getHandle(wfId).fetchHistory();
        writeFixture(label, `${wfId.split(':')[0]}-${wfId.split(':').slice(2).join('-') || 'merchant'}.json`, wfId, sys.config.ENCRYPTION_KEY, history);
      }
    } finally {
      await sys.stop();
    }
  });

  test('record a merchant run that continued-as-new with a backlog of events', async () => {
    const sys = await startSystem({ historyLimit: 100 });
    try {
      const id = 'replay-backlog';
      const account = sys.newStore();
      await sys.installActive(id, account);
      await sys.stopWorker();
      for (let i = 0; i < 80; i++) sys.sandbox.createOrder(account.storeHash, { totalIncTax: '3.0000', email: `b${i % 4}@example.com` });
      await sys.sandbox.delivery.idle();
      await sys.startWorker();
      await waitFor(async () => ((await sys.state(id)).body.stats.ordersCredited === 80 ? true : undefined), 60_000, '80 credited');
      const workflowId = `bigcommerce-merchant:${id}`;
      // The first run that continued-as-new while events were still waiting.
      const runs = [];
      for await (const run of sys.client.workflow.list({ query: `WorkflowId = "${workflowId}" AND ExecutionStatus = "ContinuedAsNew"` })) runs.push(run);
      runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
      expect(runs.length).toBeGreaterThan(0);
      const history = await sys.client.workflow.getHandle(workflowId, runs[0]!.runId).fetchHistory();
      writeFixture(label, 'bigcommerce-merchant-continued.json', workflowId, sys.config.ENCRYPTION_KEY, history);
    } finally {
      await sys.stop();
    }
  }, 120_000);

  test('record a merchant that received webhooks while the route was pressed', async () => {
    const sys = await startSystem();
    try {
      const id = 'replay-pressed';
      const workflowId = `bigcommerce-merchant:${id}`;
      const account = sys.newStore();
      await sys.installActive(id, account);
      for (const hook of sys.sandbox.hooks(account.storeHash)) sys.sandbox.deactivateHook(account.storeHash, hook.id);
      const handle = sys.client.workflow.getHandle(workflowId);
      const event = (orderId: number) => ({ scope: 'store/order/created', orderId, hash: `pressed-${orderId}` });
      // As the API signals while its webhook route is pressed (a hint after the events), then once it is not.
      // By name: code recorded before the hint existed declared one argument.
      const orders = Array.from({ length: 4 }, (_, i) => sys.sandbox.createOrder(account.storeHash, { totalIncTax: '5.0000', email: `p${i}@example.com` }));
      for (const order of orders.slice(0, 3)) await handle.signal('webhookEvents', [event(order.id)], { pressedAt: Date.now() });
      await handle.signal('webhookEvents', [event(orders[3]!.id)]);
      await waitFor(async () => ((await sys.state(id)).body.stats.ordersCredited === 4 ? true : undefined), 30_000, '4 credited');
      await sys.settled(workflowId);
      writeFixture(label, 'bigcommerce-merchant-pressed.json', workflowId, sys.config.ENCRYPTION_KEY, await handle.fetchHistory());
    } finally {
      await sys.stop();
    }
  }, 60_000);

  test('record a re-install and an uninstall that reached the merchant workflow in one activation', async () => {
    const sys = await startSystem();
    try {
      const id = 'replay-race';
      const workflowId = `bigcommerce-merchant:${id}`;
      const account = sys.newStore();
      await sys.installActive(id, account);
      // With no worker, both signals wait for the same workflow task.
      await sys.stopWorkerWhenSettled(workflowId);
      expect((await sys.install(id, account)).status).toBe(202);
      expect((await sys.request('DELETE', `/api/merchants/${id}/bigcommerce`)).status).toBe(202);
      await sys.startWorker();
      await waitFor(async () => (['active', 'uninstalled'].includes((await sys.state(id)).body.status) ? true : undefined), 90_000, 'the race decided');
      await sys.settled(workflowId);
      writeFixture(label, 'bigcommerce-merchant-race.json', workflowId, sys.config.ENCRYPTION_KEY, await sys.client.workflow.getHandle(workflowId).fetchHistory());
    } finally {
      await sys.stop();
    }
  }, 150_000);
} else {
  const versions = readdirSync(dir).sort();
  const files = versions.flatMap((v) => readdirSync(path.join(dir, v)).filter((f) => f.endsWith('.json')).map((f) => path.join(v, f)));

  test.each(versions)('the histories of %s cover each workflow type', (version) => {
    const types = new Set(files.filter((f) => f.startsWith(`${version}${path.sep}`)).map((f) => path.basename(f).split('-').slice(0, 2).join('-')));
    expect([...types].sort()).toEqual(expect.arrayContaining(['bigcommerce-merchant', 'bigcommerce-order', 'bigcommerce-refund']));
  });

  /**
   * Every history of every folder through one replay worker. Its workflows run
   * in a worker thread of their own (not the SDK's default debug mode for
   * replays, which runs them on the test's thread under jest's source-map
   * support); each folder's case then checks its own histories. The worker's
   * data converter holds every recording key (each payload names its key). A
   * replay worker takes one history at a time and answers in order. A failure
   * names each history that did not replay.
   */
  const outcome = new Map<string, string | undefined>();
  beforeAll(async () => {
    const fixtures = files.map((file) => {
      const fixture = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Fixture;
      const history = temporal.api.history.v1.History.decode(Buffer.from(fixture.history, 'base64'));
      return { file, workflowId: fixture.workflowId, encryptionKey: fixture.encryptionKey, history };
    });
    const [current, ...old] = [...new Set(fixtures.map((f) => f.encryptionKey))];
    installQuietRuntime();
    // The SDK's type leaves debugMode out of a replay worker's options, but the
    // replay worker takes it (its default, true, is spread under the options).
    // Were that to change, the replays would run on this thread again: slower, as valid.
    const options = { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! }, debugMode: false, dataConverter: dataConverter(new Keyring(current!, old)), replayName: `fixtures-${fixtures.length}` };
    const results = Worker.runReplayHistories(
      options as ReplayWorkerOptions,
      fixtures.map(({ workflowId, history }) => ({ workflowId, history })),
    );
    for await (const result of results) {
      const fixture = fixtures[outcome.size]!;
      expect(result.workflowId).toBe(fixture.workflowId);
      expect(fixture.history.events?.length).toBeGreaterThan(5);
      outcome.set(fixture.file, result.error?.message);
    }
  }, 120_000);

  test.each(versions)('the histories of %s replay against the current workflow code', (version) => {
    const inFolder = files.filter((f) => f.startsWith(`${version}${path.sep}`));
    const replayed = inFolder.filter((file) => outcome.has(file));
    const failed = inFolder.filter((file) => outcome.get(file) !== undefined).map((file) => `${file}: ${outcome.get(file)}`);
    expect(failed).toEqual([]);
    expect(replayed).toEqual(inFolder);
  });
}
