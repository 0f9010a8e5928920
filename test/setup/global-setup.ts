import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { resolveTemporalBinary } from '../../src/dev/binaries';
import { dynamicConfigArgs, freePort, freePorts, startStore } from '../../src/dev/servers';
import { BigCommerceOrderIdKey, MerchantIdKey, StoreHashKey } from '../../src/temporal/search-attribute-keys';
import { workflowBundleFromSources } from '../../src/worker/bundle-cache';

/**
 * Starts the real servers every integration test talks to, once per run:
 * a Temporal dev server (the pinned CLI, through the SDK's existing-path
 * executable, with the dynamic config `npm start` gives it) and the store
 * (mongod on PATH, else the FerretDB build), both on free ports; bundles the
 * workflows once, into the cache a worker started from the sources reads (so
 * do the worker processes some tests start), and not at all when these
 * sources were bundled before. Test files get the addresses
 * through the environment and each use their own task queue and database.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const say = (line: string) => process.stderr.write(`[test servers] ${line}\n`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-loyalty-test-'));

  const [temporalBin, store, bundle] = await Promise.all([
    resolveTemporalBinary(say),
    freePort().then((port) => startStore({ port, dataDir: path.join(dir, 'store'), log: say })),
    workflowBundleFromSources(quietLogger),
  ]);
  // All the server's public ports drawn by freePort (below the ephemeral range), none left to the SDK or the CLI: see freePort.
  const [port, httpPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBin },
      ip: '127.0.0.1',
      port,
      extraArgs: ['--http-port', String(httpPort), '--metrics-port', String(metricsPort), ...dynamicConfigArgs()],
      ui: false,
      searchAttributes: [MerchantIdKey, StoreHashKey, BigCommerceOrderIdKey],
      log: { format: 'pretty', level: 'error' },
    },
  });

  Object.assign(globalThis, { __testServers: { env, store, dir } });
  process.env.TEST_TEMPORAL_ADDRESS = env.address;
  process.env.TEST_MONGODB_URL = store.uri.replace(/\/[^/]*$/, '');
  process.env.TEST_WORKFLOW_BUNDLE = bundle.codePath;
  process.env.NODE_ENV = 'test';
  say(`Temporal ${env.address}, ${store.kind} ${store.uri} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => process.stderr.write(`[bundle] ${m}\n`),
  error: (m: string) => process.stderr.write(`[bundle] ${m}\n`),
};
