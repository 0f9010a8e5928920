import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { closeServer, startApi } from '../../src/api/server';
import { type Config, keyring, loadConfig } from '../../src/config';
import { waitFor } from '../../src/dev/cli';
import { freePort } from '../../src/dev/servers';

export { waitFor };
import { logger } from '../../src/logger';
import { type Sandbox, type SandboxAccount, startSandbox } from '../../src/sandbox/sandbox';
import { openStore, type Store } from '../../src/store';
import { connectClient } from '../../src/temporal/client';
import { AesGcmPayloadCodec } from '../../src/temporal/codec';
import { createWorker } from '../../src/worker/worker';
import { ingestGauge } from '../../src/worker/ingest-first';
import { installQuietRuntime } from './quiet-runtime';

export const DASHBOARD_KEY = 'test-dashboard-key-0123456789';

/** A merchant id (or other id) no other test uses. */
export const uniqueId = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

export interface SystemOptions {
  historyLimit?: number;
  rateLimit?: { quota: number; windowMs: number };
  /** RECONCILE_INTERVAL in seconds (default 900: no sweep during a test unless asked for). */
  reconcileInterval?: number;
  /** MERCHANT_TASK_TIMEOUT in seconds (default: the product's 60). */
  merchantTaskTimeout?: number;
}

export interface HttpResult {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * The whole product against the shared real servers: its own database, task
 * queue, API on a free port and worker; plus a sandbox BigCommerce store.
 */
export async function startSystem(opts: SystemOptions = {}) {
  installQuietRuntime(); // expected activity retries are WARN
  const tag = randomBytes(4).toString('hex');
  const sandbox = await startSandbox({ retryTimeScale: 0.001, rateLimit: opts.rateLimit ?? { quota: 100_000, windowMs: 30_000 } });
  const port = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: String(port),
    TEMPORAL_ADDRESS: required('TEST_TEMPORAL_ADDRESS'),
    MONGODB_URI: `${required('TEST_MONGODB_URL')}/t_${tag}`,
    TEMPORAL_TASK_QUEUE: `test-${tag}`,
    BIGCOMMERCE_API_ORIGIN: sandbox.url,
    DASHBOARD_API_KEY: DASHBOARD_KEY,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'bc-loyalty-sys-')),
    MERCHANT_HISTORY_LIMIT: String(opts.historyLimit ?? 5_000),
    RECONCILE_INTERVAL: String(opts.reconcileInterval ?? 900),
    ...(opts.merchantTaskTimeout === undefined ? {} : { MERCHANT_TASK_TIMEOUT: String(opts.merchantTaskTimeout) }),
    LOG_LEVEL: 'silent',
    // Worker tuning, for benches that measure it.
    ...Object.fromEntries(['WORKER_MAX_WORKFLOW_TASKS', 'WORKER_MAX_LOCAL_ACTIVITIES', 'WORKER_MAX_CACHED_WORKFLOWS', 'WORKER_YIELDS_TO_INGEST'].flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : []))),
  };
  const config: Config = loadConfig(env);
  const processes = await startProcesses(config);
  env.PORT = String(processes.config.PORT);
  const { store, client, api, request, startWorker, stopWorker } = processes;
  const codec = new AesGcmPayloadCodec(config.ENCRYPTION_KEY);

  return {
    // config, store, client, api, request, startWorker, stopWorker, stopApi (stop is this system's own, below)
    ...processes,
    sandbox,
    /** The environment this system's config was loaded from (to start more processes like it). */
    env,

    /** A sandbox store with an API account (all scopes unless told otherwise). */
    newStore(account: Parameters<Sandbox['createAccount']>[1] = {}): SandboxAccount {
      const s = sandbox.createStore();
      return sandbox.createAccount(s.hash, account);
    },
    install(merchantId: string, account: SandboxAccount, extra: Record<string, unknown> = {}) {
      return request('PUT', `/api/merchants/${merchantId}/bigcommerce`, {
        apiPath: account.apiPath,
        accessToken: account.accessToken,
        clientId: account.clientId,
        clientSecret: account.clientSecret,
        ...extra,
      });
    },
    state(merchantId: string) {
      return request('GET', `/api/merchants/${merchantId}/bigcommerce`);
    },
    /** Installs and waits until the merchant is active. */
    async installActive(merchantId: string, account: SandboxAccount, extra: Record<string, unknown> = {}) {
      const res = await this.install(merchantId, account, extra);
      if (res.status !== 202) throw new Error(`install answered ${res.status}: ${JSON.stringify(res.body)}`);
      return waitFor(async () => {
        const s = await this.state(merchantId);
        return s.body?.status === 'active' ? s.body : undefined;
      }, 30_000, `merchant ${merchantId} active`);
    },
    /**
     * Once the workflow has no task scheduled or running: a worker stopped then
     * holds none of its tasks (one it held would wait out the task timeout).
     */
    async settled(workflowId: string) {
      const handle = client.workflow.getHandle(workflowId);
      return waitFor(async () => (await handle.describe()).raw.pendingWorkflowTask == null, 30_000, `${workflowId} without a pending task`);
    },
    /**
     * Sends `workflowId`'s next tasks to its task queue, where any worker takes them, instead of the sticky
     * queue of the worker that ran it last. That worker stopped or killed, Temporal (server 1.29) holds such
     * a task for the sticky queue's schedule-to-start timeout (the SDK's 10 s) before it moves it: 10 s
     * that test nothing of ours after each worker stop (a worker's graceful shutdown does not spare them).
     */
    async resetSticky(workflowId: string) {
      await client.workflowService.resetStickyTaskQueue({ namespace: client.options.namespace, execution: { workflowId } });
    },
    /**
     * Stops the worker once `workflowId` is settled and none of its children is still to report, so that no
     * task of it waits out its timeout meanwhile: a child's report that came while the worker stopped woke a
     * task the stopping worker took and never finished (the key-rotation test, after an order whose credit
     * it had seen before the order's workflow ended; 60 s lost, nineteenth session). Its next task then goes
     * to the task queue at once (resetSticky).
     */
    async stopWorkerWhenSettled(workflowId: string) {
      const handle = client.workflow.getHandle(workflowId);
      await waitFor(
        async () => {
          const { pendingChildren, pendingWorkflowTask } = (await handle.describe()).raw;
          return (pendingChildren ?? []).length === 0 && pendingWorkflowTask == null ? true : undefined;
        },
        30_000,
        `${workflowId} with no child still to report and no pending task`,
      );
      await stopWorker();
      await this.resetSticky(workflowId);
    },
    async contact(merchantId: string, email: string) {
      const res = await request('GET', `/api/merchants/${merchantId}/contacts?email=${encodeURIComponent(email)}`);
      return res.body?.contacts?.[0] as { id: string; email: string; balance: number; bigcommerceCustomerId: number | null } | undefined;
    },
    /** The contact of `email` once its balance is `expected`. */
    async balanceWhen(merchantId: string, email: string, expected: number, timeoutMs = 30_000) {
      return waitFor(async () => {
        const c = await this.contact(merchantId, email);
        return c && c.balance === expected ? c : undefined;
      }, timeoutMs, `${email} balance ${expected}`);
    },
    /** The result of an order or refund workflow, once the event that starts it has arrived. */
    async childResult(workflowId: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
      const handle = client.workflow.getHandle(workflowId);
      await waitFor(() => handle.describe().then(() => true), 30_000, `${workflowId} to start`);
      return handle.result();
    },
    async transactions(merchantId: string, contactId: string) {
      const res = await request('GET', `/api/merchants/${merchantId}/contacts/${contactId}/transactions?limit=200`);
      return res.body.transactions as Array<{ id: string; type: string; orderId: number | null; refundId: number | null; redemptionId: string | null; amount: string | null; points: number }>;
    },
    /** Every workflow history of this system's task queue (or of one merchant) as text, raw and with payloads decrypted. */
    async histories(merchantId?: string): Promise<{ raw: string; decoded: string; count: number }> {
      let raw = '';
      let decoded = '';
      let count = 0;
      const query = merchantId ? `MerchantId = "${merchantId}"` : `TaskQueue = "${config.TEMPORAL_TASK_QUEUE}"`;
      for await (const wf of client.workflow.list({ query })) {
        const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
        raw += historyText(history);
        decoded += JSON.stringify(await decodePayloads(history, codec));
        count++;
      }
      return { raw, decoded, count };
    },
    /** In dependency order: no more deliveries, then no request in flight, then no worker, then the connections. */
    async stop() {
      await sandbox.close();
      await processes.stop({ dropDatabase: true });
      rmSync(env.DATA_DIR!, { recursive: true, force: true });
    },
  };
}

export type System = Awaited<ReturnType<typeof startSystem>>;

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through jest (test/setup/global-setup.ts)`);
  return v;
}

/** Walks a fetched history and decrypts every payload in it. */
async function decodePayloads(node: unknown, codec: AesGcmPayloadCodec): Promise<unknown> {
  if (node instanceof Uint8Array) return Buffer.from(node).toString('utf8');
  if (Array.isArray(node)) return Promise.all(node.map((n) => decodePayloads(n, codec)));
  if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.metadata && typeof o.metadata === 'object' && o.data instanceof Uint8Array) {
      const [plain] = await codec.decode([o as Payload]);
      return { metadata: await decodePayloads(plain!.metadata, codec), data: Buffer.from(plain!.data ?? []).toString('utf8') };
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = await decodePayloads(v, codec);
    return out;
  }
  return node;
}

/** Bytes as text, so a secret in any field would show. */
function historyText(history: unknown): string {
  return JSON.stringify(history, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
}

/**
 * Starts `listen` on `config.PORT`, and on another free port if that one was taken meanwhile: a
 * port `freePort` found free can be bound by another test's server before ours (two jest workers
 * drawing the same port; once, every case of a file failed on `EADDRINUSE` in its `beforeAll`).
 */
async function listenOnAFreePort<T>(config: Config, listen: (config: Config) => Promise<T>): Promise<{ config: Config; server: T }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { config, server: await listen(config) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 5) throw err;
      config = { ...config, PORT: await freePort([config.PORT]) };
    }
  }
}

/**
 * The API and the worker, as their processes would run them, with `config`:
 * a store connection, a Temporal client, the HTTP API and a worker (started).
 */
export async function startProcesses(wanted: Config) {
  const store: Store = await openStore(wanted.MONGODB_URI, keyring(wanted));
  const client: Client = await connectClient(wanted);
  const { config, server } = await listenOnAFreePort(wanted, (c) => startApi({ config: c, client, store, logger })).catch(async (err) => {
    await client.connection.close();
    await store.close();
    throw err;
  });
  const api = `http://127.0.0.1:${config.PORT}`;

  let worker: { worker: Worker; run: Promise<void>; close: () => Promise<void> } | undefined;
  async function startWorker() {
    const w = await createWorker({
      config,
      store,
      workflowBundle: { codePath: required('TEST_WORKFLOW_BUNDLE') },
      requestTimeoutMs: 5_000,
      ingest: ingestGauge, // API and worker in one process, as under npm start
    });
    worker = { worker: w.worker, run: w.worker.run(), close: () => w.connection.close() };
  }
  async function stopWorker() {
    if (!worker) return;
    const w = worker;
    worker = undefined;
    w.worker.shutdown();
    await w.run;
    await w.close();
  }
  await startWorker();

  async function request(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
    const res = await fetch(api + urlPath, {
      method,
      headers: { Authorization: `Bearer ${DASHBOARD_KEY}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed };
  }

  return {
    config,
    store,
    client,
    api,
    request,
    startWorker,
    stopWorker,
    /** Stops answering HTTP (the API process goes away; its port is free again). */
    stopApi: () => closeServer(server),
    /** In dependency order: no request in flight, then no worker, then the connections. */
    async stop({ dropDatabase = false } = {}) {
      await closeServer(server);
      await stopWorker();
      await client.connection.close();
      if (dropDatabase) await store.connection.dropDatabase().catch(() => undefined);
      await store.close();
    },
  };
}
