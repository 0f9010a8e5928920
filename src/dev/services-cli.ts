import { loadConfig } from '../config';
import { runCli } from './cli';
import { startEmbedded } from './embedded';
import { stopOnSignals } from './local';

/** `npm run services`: only the embedded Temporal dev server and store, in the foreground. */
async function main() {
  const config = loadConfig();
  const embedded = await startEmbedded({
    dataDir: config.DATA_DIR,
    namespace: config.TEMPORAL_NAMESPACE,
    codecEndpoint: `http://${config.HOST}:${config.PORT}/codec`,
    say: (l) => process.stderr.write(`${l}\n`),
  });
  stopOnSignals(embedded.stop);
  process.stdout.write(
    [
      '',
      `Temporal     ${embedded.temporalAddress}`,
      `Temporal UI  ${embedded.uiUrl ?? '(external)'}`,
      `Store        ${embedded.mongoUri}`,
      '',
      'Now `npm run api` and `npm run worker` in other terminals. Ctrl-C stops the servers.',
      '',
    ].join('\n'),
  );
}

runCli(main);
