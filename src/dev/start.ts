import { runCli } from './cli';
import { startLocal, stopOnSignals } from './local';

/** `npm start`: the whole system on one machine. */
async function main() {
  const system = await startLocal();
  stopOnSignals(system.stop);
  const c = system.config;
  process.stdout.write(
    [
      '',
      'BigCommerce loyalty integration is running',
      `  API                ${system.apiUrl}   (GET /readyz)`,
      `  Temporal UI        ${system.uiUrl ?? `(external Temporal at ${c.TEMPORAL_ADDRESS})`}`,
      `  Temporal           ${c.TEMPORAL_ADDRESS}  namespace ${c.TEMPORAL_NAMESPACE}, task queue ${c.TEMPORAL_TASK_QUEUE}`,
      `  Store              ${c.MONGODB_URI}`,
      `  Dashboard API key  ${c.DASHBOARD_API_KEY}   (dev key, kept in ${c.DATA_DIR}/dev-keys.json)`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

runCli(main);
