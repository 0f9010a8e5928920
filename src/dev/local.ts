import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { closeServer, startApi } from '../api/server';
import { type Config, keyring, loadConfig } from '../config';
import { logger } from '../logger';
import { openStore, schemaFor, type Store } from '../store';
import { connectClient } from '../temporal/client';
import { DEFAULT_METRICS_PORT } from '../observability/metrics';
import { createWorker, startWorkerMetrics } from '../worker/worker';
import { ingestGauge } from '../worker/ingest-first';
import { startEmbedded } from './embedded';

export interface LocalSystem {
  config: Config;
  client: Client;
  store: Store;
  apiUrl: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

const say = (line: string) => process.stderr.write(`${line}\n`);

/**
 * `npm start`: embedded servers (unless the environment names running ones),
 * then the API and the worker in this process. `stop()` ends all of it.
 */
export async function startLocal(env: NodeJS.ProcessEnv = process.env): Promise<LocalSystem> {
  const configured = loadConfig(env); // validates before anything starts
  const embedded = await startEmbedded({
    dataDir: configured.DATA_DIR,
    namespace: configured.TEMPORAL_NAMESPACE,
    codecEndpoint: `http://${configured.HOST}:${configured.PORT}/codec`,
    say,
  });
  let store: Store | undefined;
  let client: Client | undefined;
  let server: Server | undefined;
  let worker: { worker: Worker; run: Promise<void>; close: () => Promise<void> } | undefined;
  let metricsServer: Server | undefined;
  const stop = async () => {
    metricsServer?.close();
    if (server) await closeServer(server);
    if (worker) {
      try {
        worker.worker.shutdown();
      } catch {
        // already shutting down (the SDK reacts to SIGINT itself)
      }
      await worker.run.catch(() => undefined);
      await worker.close();
    }
    await client?.connection.close();
    await store?.close();
    await embedded.stop();
  };
  try {
    const config: Config = {
      ...configured,
      TEMPORAL_ADDRESS: embedded.temporalAddress,
      TEMPORAL_ENV: { ...configured.TEMPORAL_ENV, TEMPORAL_ADDRESS: embedded.temporalAddress },
      MONGODB_URI: embedded.mongoUri,
    };
    // One process: the API's and the worker's metrics together on the API's port (CONTRACT §2).
    metricsServer = await startWorkerMetrics(config, DEFAULT_METRICS_PORT.api);
    store = await openStore(config.MONGODB_URI, keyring(config), { schema: schemaFor(config.NODE_ENV) });
    client = await connectClient(config);
    // The API runs in this process too: the worker yields to its webhooks (worker/ingest-first.ts).
    const w = await createWorker({ config, store, ingest: ingestGauge });
    worker = { worker: w.worker, run: w.worker.run(), close: () => w.connection.close() };
    void worker.run.catch((err) => logger.error({ err }, 'worker stopped with an error'));
    server = await startApi({ config, client, store, logger });
    return { config, client, store, apiUrl: `http://${config.HOST}:${config.PORT}`, uiUrl: embedded.uiUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Stops `system` on SIGINT/SIGTERM, then exits. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping…`);
    stop().then(
      () => process.exit(0),
      (err) => {
        say(`stopping failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
