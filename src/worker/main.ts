import { configOrExit, keyring } from '../config';
import { logger } from '../logger';
import { openStore } from '../store';
import { DEFAULT_METRICS_PORT } from '../observability/metrics';
import { createWorker, startWorkerMetrics } from './worker';

/** `npm run worker`: one worker process, configured by the environment. */
async function main() {
  const config = configOrExit();
  const metricsServer = await startWorkerMetrics(config, DEFAULT_METRICS_PORT.worker);
  const store = await openStore(config.MONGODB_URI, keyring(config));
  const { worker, connection } = await createWorker({ config, store });
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, temporal: config.TEMPORAL_ADDRESS }, 'worker polling');
  // The SDK's runtime turns SIGINT/SIGTERM into a graceful shutdown: run() returns once in-flight tasks finish.
  await worker.run();
  await connection.close();
  await store.close();
  metricsServer?.close();
  logger.info('worker stopped');
}

main().catch((err) => {
  logger.fatal({ err }, 'worker failed');
  process.exit(1);
});
