import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { DefaultLogger } from '@temporalio/worker';
import { freePort, startStore, startTemporal } from '../src/dev/servers';
import { workflowBundleFromSources } from '../src/worker/bundle-cache';
import { continueAsNewRequestedSignal } from '../src/workflows/messages';
import { eventMs, type TaskWaits, taskWaits } from '../test/helpers/history';
import { startSystem } from '../test/helpers/system';
import type { LoadSpec } from './loadgen';
import { sumSeries } from './prometheus';

/** Webpack's report of each workflow bundle is not a bench figure: warnings and errors only. */
export const bundlerLogger = new DefaultLogger('WARN');

export { eventMs };

export function percentiles(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  return { p50: at(50), p95: at(95), p99: at(99), max: s[s.length - 1]! };
}

export const fmt = (n: number) => n.toFixed(2).padStart(8);

/** The workflow bundle of the sources as they are (`src/worker/bundle-cache.ts`: made once per change of them). */
export async function bundleFor(): Promise<string> {
  return (await workflowBundleFromSources(bundlerLogger)).codePath;
}

/** Runs `n` calls of `fn`, `concurrency` at a time; answers each call's latency in ms and the wall time. */
export async function load(n: number, concurrency: number, fn: (i: number) => Promise<void>) {
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

/** Runs bench/loadgen.ts in a child process with `spec` and answers what it measured. */
export async function loadFromAnotherProcess(spec: LoadSpec, dir: string): Promise<{ latencies: number[]; seconds: number; statuses: Record<string, number> }> {
  const file = path.join(dir, `load-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'loadgen.ts'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let outText = '';
    child.stdout.on('data', (d: Buffer) => (outText += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(outText)) : reject(new Error(`loadgen exited ${code}`))));
  });
}

/** BENCH_TEMPORAL_DEFAULTS=1: every dev server of this bench on Temporal's own dynamic config, not DEV_SERVER_DYNAMIC_CONFIG. */
export const onTemporalDefaults = process.env.BENCH_TEMPORAL_DEFAULTS === '1';

/**
 * The servers a bench runs against, started as `npm start` starts them (Temporal's
 * dev server on a database file, the embedded store on its data directory, both on
 * free ports), and the system on them: API, worker and sandbox in this process.
 * `temporalDynamicConfig` replaces the dev server's (`DEV_SERVER_DYNAMIC_CONFIG`):
 * `{}` runs it on Temporal's defaults, for a baseline; so does
 * BENCH_TEMPORAL_DEFAULTS=1 for every server of a bench (to run a whole bench both ways).
 */
export async function startBench(prefix: string, opts: { temporalDynamicConfig?: Readonly<Record<string, number>> } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const say = (l: string) => process.stderr.write(`${l}\n`);
  if (onTemporalDefaults) {
    say("BENCH_TEMPORAL_DEFAULTS=1: Temporal's dev server on Temporal's own dynamic config, not DEV_SERVER_DYNAMIC_CONFIG");
    opts = { ...opts, temporalDynamicConfig: {} };
  }
  const [temporal, store, bundlePath] = await Promise.all([
    startTemporal({ uiPort: null, namespace: 'default', dbFile: path.join(dir, 'temporal.db'), log: say, dynamicConfig: opts.temporalDynamicConfig }),
    freePort().then((port) => startStore({ port, dataDir: path.join(dir, 'store'), log: say })),
    bundleFor(),
  ]);
  Object.assign(process.env, {
    TEST_TEMPORAL_ADDRESS: temporal.address,
    TEST_MONGODB_URL: store.uri.replace(/\/[^/]*$/, ''),
    TEST_WORKFLOW_BUNDLE: bundlePath,
  });
  const sys = await startSystem();
  return {
    dir,
    say,
    sys,
    storeKind: store.kind,
    /** The Temporal server's own Prometheus metrics. */
    temporalMetricsUrl: temporal.metricsUrl,
    /** The server processes, for CPU accounting (bench/cpu.ts). */
    pids: { temporal: temporal.child.pid, store: store.child.pid },
    async stop() {
      await sys.stop();
      await Promise.allSettled([temporal.stop(), store.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a bench's main and exits with its outcome. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}

/**
 * A merchant installed for a bench, with its webhooks switched off in the
 * sandbox: the load generator posts them instead, so that it can time them.
 * `posts` is the load spec for a list of callback bodies.
 */
export async function merchantWithTimedWebhooks(sys: Awaited<ReturnType<typeof startSystem>>, id: string) {
  const account = sys.newStore();
  await sys.installActive(id, account);
  const secret = sys.sandbox.hooks(account.storeHash)[0]!.headers['X-Loyalty-Webhook-Secret']!;
  for (const hook of sys.sandbox.hooks(account.storeHash)) sys.sandbox.deactivateHook(account.storeHash, hook.id);
  const posts = (bodies: string[], concurrency: number): LoadSpec => ({
    url: `${sys.api}/webhooks/bigcommerce/${id}`,
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Loyalty-Webhook-Secret': secret },
    bodies,
    concurrency,
    warmUrl: `${sys.api}/healthz`,
  });
  return { account, posts };
}

/** A BigCommerce callback body (ids only), as the sandbox would deliver it. */
export function webhookBody(storeHash: string, scope: 'store/order/created' | 'store/order/refund/created', orderId: number, hash: string, refundId?: number): string {
  const data = refundId === undefined ? { type: 'order', id: orderId } : { type: 'order', id: orderId, refund: { refund_id: refundId } };
  return JSON.stringify({ scope, store_id: '1', data, hash, created_at: 0, producer: `stores/${storeHash}` });
}

/** A `store/order/statusUpdated` callback body, as the sandbox would deliver it. */
export function statusUpdatedBody(storeHash: string, orderId: number, hash: string, previousStatusId: number, newStatusId: number): string {
  const data = { type: 'order', id: orderId, status: { previous_status_id: previousStatusId, new_status_id: newStatusId } };
  return JSON.stringify({ scope: 'store/order/statusUpdated', store_id: '1', data, hash, created_at: 0, producer: `stores/${storeHash}` });
}

/** One redemption of `points` for an amount-off coupon through the API, timed: what a shopper waits for. */
export async function timedRedemption(sys: Awaited<ReturnType<typeof startSystem>>, merchantId: string, contactId: string, redemptionId: string, points: number) {
  const t = performance.now();
  const res = await sys.request('POST', `/api/merchants/${merchantId}/contacts/${contactId}/redemptions`, { redemptionId, points, reward: { type: 'amount_off', amount: '1.00' } });
  return { ms: performance.now() - t, status: res.status, body: res.body };
}

/** The history of every run of `workflowId` (every run of a merchant's chain), as the visibility store lists them. */
async function* runHistories(client: Client, workflowId: string) {
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    yield (await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory()).events ?? [];
  }
}

/**
 * One line on what the merchant workflow did over a phase (epoch ms
 * `from`..`to`), read from the histories of its runs: how many runs began
 * (continue-as-new), how many workflow tasks failed and why, and how long its
 * work waited, from the first task scheduled after a completed one to the next
 * completion (queueing, replays and failed attempts included); for the longest
 * wait, how much of it passed before its last attempt started. A webhook
 * answered 200 starts its order's child only once such a task completes. A
 * figure measured across a continue-as-new is another figure than one measured
 * while the run works; a bench says which.
 */
export async function merchantActivity(client: Client, workflowId: string, from: number, to: number): Promise<string> {
  const waits: number[] = [];
  let worst = { total: 0, toStart: 0 };
  const failures: TaskWaits['failures'] = [];
  let runsBegun = 0;
  for await (const events of runHistories(client, workflowId)) {
    const run = taskWaits(events, from, to);
    waits.push(...run.waits);
    if (run.worst.total > worst.total) worst = run.worst;
    failures.push(...run.failures);
    runsBegun += run.runsBegun;
  }
  const w = waits.length ? percentiles(waits) : { p50: 0, p99: 0, max: 0 };
  // Each failure's cause and when it happened, in s from the window's start.
  const failed = failures
    .sort((a, b) => a.at - b.at)
    .map((f) => `${f.cause.replace('WORKFLOW_TASK_FAILED_CAUSE_', '').toLowerCase()} at ${((f.at - from) / 1000).toFixed(1)} s`);
  return `merchant: ${runsBegun} run(s) begun, ${waits.length} tasks, ${failures.length} failed${failed.length ? ` (${failed.join(', ')})` : ''}; work waited p50 ${w.p50} / p99 ${w.p99} / max ${w.max} ms (${worst.toStart} ms of it until its last attempt started)`;
}

/**
 * Signals and updates the Temporal server has refused with RESOURCE_EXHAUSTED,
 * cause BusyWorkflow, since it started (its own metrics). Above all while a
 * run's continue-as-new was refused and the task that tries it again runs:
 * the server then takes no signal or update for that run ("workflow operation
 * can not be applied because workflow is closing", temporalio/temporal#4395),
 * and the SDK's client waits at least a second before each retry
 * (docs/performance.md, nineteenth session).
 */
export async function refusedAsBusy(metricsUrl: string): Promise<{ signals: number; updates: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const count = (operation: string) => sumSeries(text, 'service_errors_resource_exhausted', `operation="${operation}"`, 'resource_exhausted_cause="BusyWorkflow"', 'service_name="frontend"');
  return { signals: count('SignalWorkflowExecution'), updates: count('UpdateWorkflowExecution') };
}

/** How many events the merchant's runs wrote into their histories between `from` and `to` (epoch ms). */
export async function merchantEvents(client: Client, workflowId: string, from: number, to: number): Promise<number> {
  let n = 0;
  for await (const events of runHistories(client, workflowId)) n += events.filter((e) => eventMs(e) >= from && eventMs(e) <= to).length;
  return n;
}

/**
 * A fresh merchant run (continue-as-new asked for, as `npm run rotate-keys`
 * does), settled: a phase measured after it does not meet the run's
 * continue-as-new, which the server suggests past 4,096 events.
 */
export async function freshMerchantRun(client: Client, workflowId: string, settled: () => Promise<unknown>): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  const before = (await handle.describe()).runId;
  await handle.signal(continueAsNewRequestedSignal);
  const deadline = Date.now() + 120_000;
  while ((await handle.describe()).runId === before) {
    if (Date.now() > deadline) throw new Error(`${workflowId} did not continue as new within 120 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await settled();
}
