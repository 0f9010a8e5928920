import { configOrExit, keyring } from '../config';
import { logger } from '../logger';
import { DEFAULT_METRICS_PORT, serveMetrics } from '../observability/metrics';
import { openStore, schemaFor } from '../store';
import { connectClient } from '../temporal/client';
import { closeServer, startApi } from './server';

/** `npm run api`: the HTTP API alone, configured by the environment. */
async function main() {
  const config = configOrExit();
  const [client, store] = await Promise.all([connectClient(config), openStore(config.MONGODB_URI, keyring(config), { schema: schemaFor(config.NODE_ENV) })]);
  const server = await startApi({ config, client, store, logger });
  const metricsServer = await serveMetrics({ host: config.HOST, port: config.METRICS_PORT ?? DEFAULT_METRICS_PORT.api });
  logger.info({ url: `http://${config.HOST}:${config.PORT}` }, 'api listening');
  const stop = async () => {
    await closeServer(server);
    metricsServer?.close();
    await Promise.all([client.connection.close(), store.close()]);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  logger.fatal({ err }, 'api failed');
  process.exit(1);
});
