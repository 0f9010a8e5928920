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
 *    ledger, for 100 orders at 10/s spread over the merchants, at each size
 *    (BENCH_SAMPLE_ROUNDS samples). At the large size the samples alternate
 *    with samples of the same orders for the first 10 merchants only: spread
 *    over a hundred merchants, each order costs its merchant run workflow tasks
 *    of its own, where 10 orders a second for 10 merchants share theirs. For
 *    each sample: where the time went (from the histories), workflow tasks and
 *    CPU time per order, and how busy the machine was and how much of it the
 *    hypervisor stole. BENCH_CPU_PROFILE=<dir> writes the main thread's CPU
 *    profile of each sample there.
 *
 *    Before them, as a baseline, 10 merchants on a server with Temporal's own
 *    dynamic config instead of the dev server's (`DEV_SERVER_DYNAMIC_CONFIG`:
 *    the transfer queue read up to 1,000 times a second, not 20); not when
 *    BENCH_TEMPORAL_DEFAULTS=1 puts every sample on Temporal's defaults.
 *
 * The servers run as `npm start` runs them: Temporal's dev server on a
 * database file, the embedded store on its data directory.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { DEV_SERVER_DYNAMIC_CONFIG, freePort } from '../src/dev/servers';
import { orderTransactionId } from '../src/ledger/ledger';
import { merchantWorkflowId, orderWorkflowId } from '../src/workflows/messages';
import { installQuietRuntime } from '../test/helpers/quiet-runtime';
import { waitFor } from '../test/helpers/system';
import { cpuSince, machineSince } from './cpu';
import { eventMs, fmt, load, loadFromAnotherProcess, merchantWithTimedWebhooks, onTemporalDefaults, percentiles, runBench, startBench, webhookBody } from './common';
import { sumSeries } from './prometheus';

const FLOOD = Number(process.env.BENCH_FLOOD ?? 12_000);
const MERCHANTS = Number(process.env.BENCH_MERCHANTS ?? 1_000);
const SAMPLE_ORDERS = 100;
/** Samples taken at each size; the ratios compare the rounds of median p50 (one 10 s sample is at the mercy of a slow spell). */
const SAMPLE_ROUNDS = Number(process.env.BENCH_SAMPLE_ROUNDS ?? 3);
/** How long each size is watched with no order coming, before its samples. */
const IDLE_MS = 10_000;

/** A directory: the main thread's CPU profile of each sample is written there. */
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE;

async function main() {
  // The SDK's own metrics (its cache of runs): the system's runtime, installed first, with them.
  const sdkMetricsUrl = `http://127.0.0.1:${await freePort()}/metrics`;
  installQuietRuntime({ prometheusBindAddress: new URL(sdkMetricsUrl).host });
  // 0. The baseline of the dev server's dynamic config: 10 merchants on a server with Temporal's defaults (none needed when every sample is).
  let onDefaults: Awaited<ReturnType<ReturnType<typeof merchantSampler>['rounds']>>[number] | undefined;
  if (!onTemporalDefaults) {
    const defaults = await startBench('bc-bench-scale-defaults-', { temporalDynamicConfig: {} });
    try {
      const sampler = merchantSampler(defaults, sdkMetricsUrl);
      await sampler.grow(10);
      [onDefaults] = await sampler.rounds([sampler.merchants]);
    } finally {
      await defaults.stop();
    }
  }
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
    const { merchants, grow, idle, rounds } = merchantSampler(bench, sdkMetricsUrl);
    await grow(10);
    const idleSmall = await idle();
    const [small] = await rounds([merchants]);
    const firstTen = merchants.slice(0, 10);
    await grow(MERCHANTS);
    const idleLarge = await idle();
    // In turns: orders spread over the merchants (one each for a hundred of them), and the same orders for the first 10 only.
    const [spread, same] = await rounds([merchants, firstTen]);
    const row = (label: string, x: typeof small) => `  ${label.padEnd(30)}${fmt(x!.p50)} ${fmt(x!.p95)} ${fmt(x!.max)} ${fmt(x!.rssMb)} ${fmt(x!.heapMb)} ${fmt(x!.tasks)}`;
    const ratio = (label: string, x: typeof small, y: typeof small) =>
      `  ${label.padEnd(30)}${fmt(x!.p50 / y!.p50)} ${fmt(x!.p95 / y!.p95)} ${fmt(x!.max / y!.max)} ${fmt(x!.rssMb / y!.rssMb)} ${fmt(x!.heapMb / y!.heapMb)} ${fmt(x!.tasks / y!.tasks)}`;
    out.push(
      `merchants: ${SAMPLE_ROUNDS} samples of ${SAMPLE_ORDERS} orders at 10/s, order created → credited (ms), the sample of median p50; at ${MERCHANTS} merchants in turns, spread over them (${spreadOver(MERCHANTS)}) and over the first 10 (as with 10 merchants). Memory of the process (API + worker + sandbox) after the last; workflow tasks per order`,
      `  p50 of each: 10 merchants ${small!.p50s}; ${MERCHANTS} merchants, spread ${spread!.p50s}; ${MERCHANTS} merchants, first 10 ${same!.p50s}${onDefaults ? `; 10 merchants on Temporal's defaults ${onDefaults.p50s}` : ''}`,
      '                                    p50      p95      max   RSS MB  heap MB tasks/order',
      row('10 merchants', small),
      row(`${MERCHANTS} merchants, spread`, spread),
      row(`${MERCHANTS} merchants, first 10`, same),
      ratio('ratio spread / 10 merchants', spread, small),
      ratio('ratio first 10 / 10 merchants', same, small),
      ...(onDefaults ? [row("10, Temporal's defaults", onDefaults), ratio('ratio defaults / ours', onDefaults, small)] : []),
      '  the samples of median p50, in detail:',
      `    10 merchants: ${describeSample(small!)}`,
      `    ${MERCHANTS} merchants, spread: ${describeSample(spread!)}`,
      `    ${MERCHANTS} merchants, first 10: ${describeSample(same!)}`,
      ...(onDefaults ? [`    10 merchants on a server with Temporal's default dynamic config (${describeDevConfig()}): ${describeSample(onDefaults)}`] : []),
      `  idle for ${IDLE_MS / 1000} s before the samples: 10 merchants ${idleSmall}; ${MERCHANTS} merchants ${idleLarge}`,
      '',
    );
    process.stdout.write(out.join('\n'));
  } finally {
    await bench.stop();
  }
}

/**
 * Merchants installed on `bench`, and samples of their orders: `grow` installs
 * more, `idle` watches the system with no order coming, `rounds` takes
 * SAMPLE_ROUNDS samples (of each spread, in turns).
 */
function merchantSampler(bench: Awaited<ReturnType<typeof startBench>>, sdkMetricsUrl: string) {
  const { say, sys } = bench;
  /** The processes whose CPU each sample and idle spell counts. */
  const watched = { system: process.pid, temporal: bench.pids.temporal, store: bench.pids.store };
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
  /**
   * One sample: SAMPLE_ORDERS orders at 10/s spread over `over`, each timed from
   * its creation in BigCommerce to its credit in the ledger; where that time
   * went (the histories); the workflow tasks and CPU time each order cost (this
   * process's includes the bench's own look for the credits, 100 ledger reads
   * every 500 ms once the orders are placed); how busy the machine was and how
   * much of it the hypervisor stole meanwhile.
   */
  const sample = async (over: typeof merchants) => {
    const profiler = PROFILE_DIR ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const tasksBefore = await workflowTasksDispatched(bench.temporalMetricsUrl);
    const cacheBefore = await workerCache(sdkMetricsUrl);
    const cpu = cpuSince(watched);
    const machine = machineSince();
    const placed: { merchantId: string; orderId: number; at: number }[] = [];
    for (let i = 0; i < SAMPLE_ORDERS; i++) {
      const m = over[Math.floor((i * over.length) / SAMPLE_ORDERS)]!;
      const o = sys.sandbox.createOrder(m.storeHash, { totalIncTax: '5.0000', email: `s${i}@example.com` });
      placed.push({ merchantId: m.id, orderId: o.id, at: Date.now() });
      await new Promise((r) => setTimeout(r, 100));
    }
    const latencies = await waitFor(async () => {
      const txs = await Promise.all(placed.map((p) => sys.store.ledger.transaction(orderTransactionId(p.merchantId, p.orderId))));
      return txs.every(Boolean) ? txs.map((t, i) => t!.createdAt.getTime() - placed[i]!.at) : undefined;
    }, 600_000, 'the sample credited', 500);
    const used = cpu();
    const machineLoad = machine();
    const tasks = ((await workflowTasksDispatched(bench.temporalMetricsUrl)) - tasksBefore) / SAMPLE_ORDERS;
    const cacheAfter = await workerCache(sdkMetricsUrl);
    const cache = { misses: cacheAfter.misses - cacheBefore.misses, evictions: cacheAfter.evictions - cacheBefore.evictions, size: cacheAfter.size };
    const reached = new Set(placed.map((p) => p.merchantId)).size;
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(path.join(PROFILE_DIR!, `scale-${merchants.length}-${reached}-${Date.now()}.cpuprofile`), JSON.stringify(profile));
      profiler.disconnect();
    }
    const stages = await whereTheTimeWent(sys, placed);
    global.gc?.();
    const mem = process.memoryUsage();
    const taken = {
      ...percentiles(latencies),
      rssMb: mem.rss / 2 ** 20,
      heapMb: mem.heapUsed / 2 ** 20,
      tasks,
      cache,
      cpuMsPerOrder: Object.fromEntries(Object.entries(used).map(([k, v]) => [k, v === undefined ? NaN : v / SAMPLE_ORDERS])),
      load: machineLoad,
      stages,
    };
    say(`  ${merchants.length} merchants, orders over ${reached}: ${describeSample(taken)}`);
    return taken;
  };
  /** CPU ms per second that the processes and the machine spend while no order comes (IDLE_MS): the background cost of the merchants held. */
  const idle = async () => {
    const cpu = cpuSince(watched);
    const machine = machineSince();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const used = Object.entries(cpu())
      .map(([k, v]) => `${k} ${v === undefined ? '?' : ((v * 1000) / IDLE_MS).toFixed(0)}`)
      .join(', ');
    return `CPU ms per s ${used}; ${describeLoad(machine())}`;
  };
  /** SAMPLE_ROUNDS samples (of each spread, taken in turns): the one of median p50, each one's p50, and the memory after the last. */
  const rounds = async (spreads: (typeof merchants)[]) => {
    const taken: Awaited<ReturnType<typeof sample>>[][] = spreads.map(() => []);
    for (let r = 0; r < SAMPLE_ROUNDS; r++) for (const [k, over] of spreads.entries()) taken[k]!.push(await sample(over));
    return taken.map((t) => {
      const median = [...t].sort((x, y) => x.p50 - y.p50)[Math.floor(t.length / 2)]!;
      return { ...median, rssMb: t.at(-1)!.rssMb, heapMb: t.at(-1)!.heapMb, p50s: t.map((x) => x.p50.toFixed(0)).join(', ') };
    });
  };
  return { merchants, grow, idle, rounds };
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

/**
 * Where a sample's orders spent their time, from the histories: order created →
 * the merchant run's signal → the start of the merchant task that started the
 * order's child → its completion → the child's start → the child's first task
 * started → its credit in the ledger (the order's fetch and credit, local
 * activities of that task). p50 and max of each stage, in ms. The first stage
 * holds the sandbox's delivery of the webhook and the API's answer to it; its
 * signal is the first the run took at or after the order's creation (with
 * several orders a second for one merchant, now and then an earlier order's).
 */
async function whereTheTimeWent(sys: Awaited<ReturnType<typeof startBench>>['sys'], placed: { merchantId: string; orderId: number; at: number }[]) {
  const type = temporal.api.enums.v1.EventType;
  const stages: Record<string, number[]> = { signal: [], 'to task': [], 'merchant task': [], 'to child': [], 'child task': [], credit: [] };
  for (const p of placed) {
    const child = (await sys.client.workflow.getHandle(orderWorkflowId(p.merchantId, p.orderId)).fetchHistory()).events ?? [];
    const started = child[0]!;
    const attrs = started.workflowExecutionStartedEventAttributes!;
    const parent = (await sys.client.workflow.getHandle(attrs.parentWorkflowExecution!.workflowId!, attrs.parentWorkflowExecution!.runId!).fetchHistory()).events ?? [];
    const byId = new Map(parent.map((e) => [Number(e.eventId), e]));
    const initiated = byId.get(Number(attrs.parentInitiatedEventId))!;
    const completed = byId.get(Number(initiated.startChildWorkflowExecutionInitiatedEventAttributes!.workflowTaskCompletedEventId))!;
    const taskStarted = byId.get(Number(completed.workflowTaskCompletedEventAttributes!.startedEventId))!;
    const signal = parent.find((e) => e.eventType === type.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED && eventMs(e) >= p.at - 5);
    const childTask = child.find((e) => e.eventType === type.EVENT_TYPE_WORKFLOW_TASK_STARTED)!;
    const tx = await sys.store.ledger.transaction(orderTransactionId(p.merchantId, p.orderId));
    const signalAt = signal ? eventMs(signal) : NaN;
    stages.signal!.push(signalAt - p.at);
    stages['to task']!.push(eventMs(taskStarted) - signalAt);
    stages['merchant task']!.push(eventMs(completed) - eventMs(taskStarted));
    stages['to child']!.push(eventMs(started) - eventMs(completed));
    stages['child task']!.push(eventMs(childTask) - eventMs(started));
    stages.credit!.push(tx!.createdAt.getTime() - eventMs(childTask));
  }
  return Object.entries(stages)
    .map(([k, v]) => `${k} ${percentiles(v).p50}/${percentiles(v).max}`)
    .join(', ');
}

/** The dev server's dynamic config that the baseline goes without. */
function describeDevConfig(): string {
  return Object.entries(DEV_SERVER_DYNAMIC_CONFIG)
    .map(([k, v]) => `${k} ${v} here`)
    .join(', ');
}

/** What "spread over the merchants" means at a size: how many merchants a sample's orders reach. */
function spreadOver(merchants: number): string {
  const reached = Math.min(merchants, SAMPLE_ORDERS);
  return reached === SAMPLE_ORDERS ? `one order for each of ${reached} merchants` : `${SAMPLE_ORDERS} orders over ${reached} merchants`;
}

/** Workflow tasks the Temporal server has handed to pollers since it started (its own metrics: matching's poll_success, workflow task queues). */
async function workflowTasksDispatched(metricsUrl: string): Promise<number> {
  return sumSeries(await (await fetch(metricsUrl)).text(), 'poll_success', 'task_type="Workflow"');
}

/**
 * The worker's cache of runs, from the SDK's own metrics: tasks that found their run out of the cache
 * (each replays the run's whole history), runs evicted to make room, and runs cached now.
 */
async function workerCache(sdkMetricsUrl: string): Promise<{ misses: number; evictions: number; size: number }> {
  const text = await (await fetch(sdkMetricsUrl)).text();
  const sum = (name: string) => sumSeries(text, name);
  return { misses: sum('temporal_sticky_cache_miss'), evictions: sum('temporal_sticky_cache_total_forced_eviction'), size: sum('temporal_sticky_cache_size') };
}

/** A sample in one line: p50, the stages of its orders, the tasks and CPU each cost, the worker's cache, the machine meanwhile. */
function describeSample(x: { p50: number; stages: string; tasks: number; cache: { misses: number; evictions: number; size: number }; cpuMsPerOrder: Record<string, number>; load: { busy: number; steal: number } | undefined }): string {
  const cpu = Object.entries(x.cpuMsPerOrder)
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(', ');
  return `p50 ${x.p50} ms; stages p50/max ms: ${x.stages}; ${x.tasks.toFixed(1)} workflow tasks and CPU ms per order: ${cpu}; worker's cache: ${x.cache.misses} misses, ${x.cache.evictions} forced evictions, ${x.cache.size} runs; ${describeLoad(x.load)}`;
}

/** The machine's busy and stolen shares over a spell (bench/cpu.ts, machineSince). */
function describeLoad(load: { busy: number; steal: number } | undefined): string {
  return load ? `machine busy ${(load.busy * 100).toFixed(0)} %, stolen ${(load.steal * 100).toFixed(0)} %` : 'machine load unknown';
}

runBench(main);
