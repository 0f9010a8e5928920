import mongoose, { type Connection } from 'mongoose';
import type { Keyring } from './crypto';
import { ImportRepository } from './imports/repository';
import { Ledger } from './ledger/ledger';
import { migrateLedger, requireMigrated } from './ledger/migrate';
import { logger } from './logger';
import { MerchantRepository } from './merchants/repository';
import { RedemptionRepository } from './redemptions/repository';

/** The MongoDB-compatible store: one connection, the merchant repository and the ledger. */
export interface Store {
  connection: Connection;
  merchants: MerchantRepository;
  ledger: Ledger;
  imports: ImportRepository;
  redemptions: RedemptionRepository;
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /**
   * `migrate` (development and tests): create the indexes and run the data
   * migration on open. `require` (production): indexes and migrations are a
   * deployment step (`npm run migrate`); refuse a store that has not had it.
   * `none`: touch nothing (the migrate command itself).
   */
  schema?: 'migrate' | 'require' | 'none';
}

/** The schema handling of a process: production leaves indexes and migrations to `npm run migrate`. */
export const schemaFor = (nodeEnv: string): StoreOptions['schema'] => (nodeEnv === 'production' ? 'require' : 'migrate');

export async function openStore(uri: string, keys: string | Keyring, { schema = 'migrate' }: StoreOptions = {}): Promise<Store> {
  const connection = mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5_000, autoIndex: schema === 'migrate', autoCreate: schema === 'migrate' });
  await connection.asPromise();
  const merchants = new MerchantRepository(connection, keys);
  const ledger = new Ledger(connection);
  const imports = new ImportRepository(connection);
  const redemptions = new RedemptionRepository(connection);
  await Promise.all([merchants.init(), ledger.init(), imports.init(), redemptions.init()]);
  try {
    if (schema === 'migrate') {
      const done = await migrateLedger(ledger, (line) => logger.info(line.trim()));
      if (done) logger.info(done, 'ledger migrated');
    }
    if (schema === 'require') await requireMigrated(ledger);
  } catch (err) {
    await connection.close();
    throw err;
  }
  return {
    connection,
    merchants,
    ledger,
    imports,
    redemptions,
    async ping(timeoutMs = 2_000) {
      const db = connection.db;
      if (!db || connection.readyState !== 1) throw new Error('not connected');
      await withTimeout(db.admin().ping(), timeoutMs, 'store did not answer a ping');
    },
    close: () => connection.close(),
  };
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}
