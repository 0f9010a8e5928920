import type { Ledger } from './ledger';

/** The data migration this version of the ledger needs: contact keys and postings for what older versions wrote. */
export const LEDGER_MIGRATION = 'ledger-postings-v1';

export class MigrationRequiredError extends Error {
  override readonly name = 'MigrationRequiredError';
}

export interface LedgerMigration {
  contactKeys: number;
  transactions: number;
  posted: number;
}

/**
 * Brings a ledger written by an older version up to this one: a key for every
 * contact, and every transaction posted on its contact's chain (in the order
 * the transactions were written) and on its merchant's stats chain. Idempotent,
 * safe to run while workers write (every step is the ledger's own idempotent
 * write), and recorded once done so later starts skip it.
 */
export async function migrateLedger(ledger: Ledger, say: (line: string) => void = () => {}): Promise<LedgerMigration | null> {
  const { Contact, ContactKey, Transaction, Migration } = ledger.models;
  if (await Migration.exists({ _id: LEDGER_MIGRATION })) return null;
  const summary: LedgerMigration = { contactKeys: 0, transactions: 0, posted: 0 };

  for await (const c of Contact.find({}, { _id: 1, merchantId: 1, email: 1 }).lean().cursor()) {
    try {
      await ContactKey.collection.insertOne({ _id: `${c.merchantId}:${c.email}`, contactId: c._id } as never);
      summary.contactKeys++;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
  }

  const byContact = new Map<string, { id: string; t: number }[]>();
  for await (const t of Transaction.find({}, { _id: 1, contactId: 1, createdAt: 1 }).lean().cursor()) {
    const key = t.contactId.toHexString();
    const list = byContact.get(key) ?? [];
    list.push({ id: t._id, t: t.createdAt.getTime() });
    byContact.set(key, list);
    summary.transactions++;
  }
  let done = 0;
  for (const list of byContact.values()) {
    list.sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1));
    for (const { id } of list) {
      const tx = await ledger.transaction(id);
      if (tx && (await ledger.post(tx))) summary.posted++;
      if (++done % 10_000 === 0) say(`  posted ${done} of ${summary.transactions} transactions`);
    }
  }
  await Migration.create({ _id: LEDGER_MIGRATION, completedAt: new Date(), summary: { ...summary } });
  return summary;
}

/** Refuses to run on a store this version has not migrated (production creates indexes and migrates with `npm run migrate`). */
export async function requireMigrated(ledger: Ledger): Promise<void> {
  if (await ledger.models.Migration.exists({ _id: LEDGER_MIGRATION })) return;
  throw new MigrationRequiredError(`the store lacks this version's indexes and data migration (${LEDGER_MIGRATION}): run npm run migrate with the same MONGODB_URI, then start again`);
}
