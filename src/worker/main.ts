import { type Config, configOrExit, keyring } from '../config';
import type { NativeConnection } from '@temporalio/worker';
import { connectClient } from '../temporal/client';
import { missingSearchAttributes } from '../temporal/search-attributes';
import { logger } from '../logger';
import { openStore, schemaFor } from '../store';
import { DEFAULT_METRICS_PORT } from '../observability/metrics';
import { createWorker, startWorkerMetrics } from './worker';

/** `npm run worker`: one worker process, configured by the environment. */
async function main() {
  const config = configOrExit();
  const metricsServer = await startWorkerMetrics(config, DEFAULT_METRICS_PORT.worker);
  if (metricsServer) logger.info({ address: metricsServer.address() }, 'metrics served');
  await requireSearchAttributes(config);
  const store = await openStore(config.MONGODB_URI, keyring(config), { schema: schemaFor(config.NODE_ENV) });
  logger.info('store open');
  const started = Date.now();
  const { worker, connection } = await createWorker({ config, store });
  logger.info({ ms: Date.now() - started }, 'worker created');
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, temporal: config.TEMPORAL_ADDRESS }, 'worker polling');
  // The SDK's runtime turns SIGINT/SIGTERM into a graceful shutdown: run() returns once in-flight tasks finish.
  await worker.run();
  await connection.close();
  await store.close();
  metricsServer?.close();
  logger.info('worker stopped');
}

/**
 * Workflows set MerchantId, StoreHash and BigCommerceOrderId: on a server that
 * lacks one, every child start would fail and merchants would stall. Refuse to
 * start instead, saying which are missing and how to add them.
 */
async function requireSearchAttributes(config: Config): Promise<void> {
  const client = await connectClient(config);
  try {
    const check = await missingSearchAttributes(client.connection as NativeConnection, client.options.namespace);
    if (check) {
      logger.fatal({ missing: check.missing }, `the Temporal namespace lacks search attributes this service sets: ${check.missing.join(', ')}. Add them, then start again:\n${check.howToAdd}`);
      process.exit(1);
    }
  } catch (err) {
    logger.warn({ err }, 'could not list the search attributes of the namespace (permissions?); make sure MerchantId, StoreHash (Keyword) and BigCommerceOrderId (Int) exist');
  } finally {
    await client.connection.close();
  }
}

main().catch((err) => {
  logger.fatal({ err }, 'worker failed');
  process.exit(1);
});
