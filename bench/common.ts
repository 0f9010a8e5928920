import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { freePort, startStore, startTemporal } from '../src/dev/servers';
import { FAILURE_CONVERTER_PATH } from '../src/temporal/codec';
import { startSystem } from '../test/helpers/system';
import type { LoadSpec } from './loadgen';

export function percentiles(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  return { p50: at(50), p95: at(95), p99: at(99), max: s[s.length - 1]! };
}

export const fmt = (n: number) => n.toFixed(2).padStart(8);

/** The workflow bundle, built once per bench run into `dir`. */
export async function bundleFor(dir: string): Promise<string> {
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), failureConverterPath: FAILURE_CONVERTER_PATH });
  const bundlePath = path.join(dir, 'bundle.js');
  writeFileSync(bundlePath, bundle.code);
  return bundlePath;
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

/**
 * The servers a bench runs against, started as `npm start` starts them (Temporal's
 * dev server on a database file, the embedded store on its data directory, both on
 * free ports), and the system on them: API, worker and sandbox in this process.
 */
export async function startBench(prefix: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const say = (l: string) => process.stderr.write(`${l}\n`);
  const [temporal, store, bundlePath] = await Promise.all([
    freePort().then((port) => startTemporal({ port, uiPort: null, namespace: 'default', dbFile: path.join(dir, 'temporal.db'), log: say })),
    freePort().then((port) => startStore({ port, dataDir: path.join(dir, 'store'), log: say })),
    bundleFor(dir),
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

/** A BigCommerce callback body (ids only), as the sandbox would deliver it. */
export function webhookBody(storeHash: string, scope: 'store/order/created' | 'store/order/refund/created', orderId: number, hash: string, refundId?: number): string {
  const data = refundId === undefined ? { type: 'order', id: orderId } : { type: 'order', id: orderId, refund: { refund_id: refundId } };
  return JSON.stringify({ scope, store_id: '1', data, hash, created_at: 0, producer: `stores/${storeHash}` });
}
