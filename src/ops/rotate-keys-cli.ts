import { configOrExit, keyring } from '../config';
import { runCli } from '../dev/cli';
import { openStore, schemaFor } from '../store';
import { connectClient } from '../temporal/client';
import { rotateKeys } from './rotate-keys';

/** `npm run rotate-keys`: see rotate-keys.ts. */
runCli(async () => {
  const config = configOrExit();
  const keys = keyring(config);
  const [store, client] = await Promise.all([openStore(config.MONGODB_URI, keys, { schema: schemaFor(config.NODE_ENV) }), connectClient(config)]);
  try {
    const r = await rotateKeys({ config, store, client });
    process.stdout.write(
      [
        `ENCRYPTION_KEY ${keys.current.id}: re-sealed the credentials of ${r.resealed} merchant(s); ${r.alreadyCurrent} already used it.`,
        `Asked ${r.merchantRunsRenewed} merchant workflow(s) to continue-as-new under the new key.`,
        r.otherOpenWorkflows === 0
          ? 'No other workflow is open: ENCRYPTION_OLD_KEYS can be dropped once the merchant runs have renewed.'
          : `${r.otherOpenWorkflows} other open workflow(s) may hold payloads of older keys: keep ENCRYPTION_OLD_KEYS until they close (run this again to count).`,
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.all([store.close(), client.connection.close()]);
  }
});
