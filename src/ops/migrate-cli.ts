import { configOrExit, keyring } from '../config';
import { runCli } from '../dev/cli';
import { migrateLedger } from '../ledger/migrate';
import { openStore } from '../store';

/**
 * `npm run migrate`: the deployment step that production processes require
 * before they start (they never build indexes themselves): creates every
 * collection's indexes, drops the ones this version no longer declares, and
 * runs the ledger's data migration once.
 */
runCli(async () => {
  const config = configOrExit();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const store = await openStore(config.MONGODB_URI, keyring(config), { schema: 'none' });
  try {
    for (const model of Object.values(store.connection.models)) {
      const started = Date.now();
      await model.createCollection().catch((err: { codeName?: string }) => {
        if (err.codeName !== 'NamespaceExists') throw err;
      });
      const dropped = await model.syncIndexes();
      const declared = model.schema.indexes().length;
      say(`${model.collection.collectionName}: ${declared} index(es) besides _id in place${dropped.length > 0 ? `, dropped ${dropped.join(', ')}` : ''} (${Date.now() - started} ms)`);
    }
    const started = Date.now();
    const ledger = await migrateLedger(store.ledger, say);
    say(
      ledger
        ? `ledger: ${ledger.contactKeys} contact key(s) written, ${ledger.posted} of ${ledger.transactions} transaction(s) posted (${Date.now() - started} ms)`
        : 'ledger: already migrated',
    );
  } finally {
    await store.close();
  }
});
