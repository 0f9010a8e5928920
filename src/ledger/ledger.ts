import { createHash } from 'node:crypto';
import { type Connection, Types } from 'mongoose';
import { type ContactDoc, ledgerModels, type PostedTransaction, type PostingDoc, type TransactionDoc } from './models';
import { Chains, mapLimit } from './postings';

export function normalizeEmail(email: string | null | undefined): string | null {
  const e = (email ?? '').trim().toLowerCase();
  return e.length > 0 ? e : null;
}

export const orderTransactionId = (merchantId: string, orderId: number) => `order:${merchantId}:${orderId}`;
export const refundTransactionId = (merchantId: string, refundId: number) => `refund:${merchantId}:${refundId}`;
export const redemptionTransactionId = (merchantId: string, redemptionId: string) => `redemption:${merchantId}:${redemptionId}`;
export const reversalTransactionId = (merchantId: string, redemptionId: string) => `redemption_reversal:${merchantId}:${redemptionId}`;

const isDuplicateKey = (err: unknown) => (err as { code?: number }).code === 11000;

export interface ContactView {
  id: string;
  email: string;
  balance: number;
  bigcommerceCustomerId: number | null;
  createdAt: string;
}

export type TransactionView = Omit<TransactionDoc, '_id' | 'merchantId' | 'contactId' | 'createdAt' | 'requestHash'> & { id: string; createdAt: string };

/** A merchant's orders and refunds are counted on this many chains, so that concurrent credits seldom race for one. */
export const STATS_CHAINS = 8;

export const contactChain = (contactId: Types.ObjectId | string) => `c:${typeof contactId === 'string' ? contactId : contactId.toHexString()}`;
const statsChain = (merchantId: string, k: number) => `s:${merchantId}:${k}`;
export const statsChainOf = (merchantId: string, txId: string) => statsChain(merchantId, createHash('sha1').update(txId).digest().readUInt32BE(0) % STATS_CHAINS);
export const contactKey = (merchantId: string, email: string) => `${merchantId}:${email}`;

/** Writes are idempotent inserts keyed by BigCommerce ids; balances and counts are running totals on chains of postings (see models.ts). */
export class Ledger {
  private readonly m;
  private readonly chains;

  constructor(conn: Connection) {
    this.m = ledgerModels(conn);
    this.chains = new Chains(this.m.Posting, this.m.Head);
  }

  /** The ledger's models; with autoIndex, their indexes (production creates them with `npm run migrate`). */
  async init(): Promise<void> {
    await Promise.all(Object.values(this.m).map((model) => model.init()));
  }

  get models() {
    return this.m;
  }

  /**
   * The contact of `email` (already normalized), created on first use; a guest
   * contact learns its customer id later. Found through its key by `_id`: the
   * key is written first, so racing first orders agree on one contact id.
   */
  async contactFor(merchantId: string, email: string, customerId: number | null): Promise<ContactDoc> {
    const key = contactKey(merchantId, email);
    let contactId = (await this.m.ContactKey.findById(key).lean())?.contactId;
    if (!contactId) {
      const fresh = new Types.ObjectId();
      try {
        await this.m.ContactKey.collection.insertOne({ _id: key, contactId: fresh } as never);
        contactId = fresh;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        contactId = (await this.m.ContactKey.findById(key).lean())?.contactId;
        if (!contactId) throw err;
      }
    }
    let contact: ContactDoc | null = await this.m.Contact.findById(contactId).lean();
    if (!contact) {
      const doc: ContactDoc = { _id: contactId, merchantId, email, bigcommerceCustomerId: customerId, createdAt: new Date() };
      try {
        await this.m.Contact.collection.insertOne(doc as never);
        contact = doc;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        contact = await this.m.Contact.findById(contactId).lean();
        if (!contact) throw new Error(`contact ${key} exists under another id than its key's ${contactId.toHexString()}: run npm run migrate`);
      }
    }
    if (customerId !== null && (contact.bigcommerceCustomerId ?? null) === null) {
      await this.m.Contact.updateOne({ _id: contact._id }, { $set: { bigcommerceCustomerId: customerId } });
      contact.bigcommerceCustomerId = customerId;
    }
    return contact;
  }

  /** Inserts a transaction once; a second attempt returns the first one and `created: false`. */
  async record(tx: Omit<TransactionDoc, 'createdAt'>): Promise<{ transaction: TransactionDoc; created: boolean }> {
    let transaction: TransactionDoc;
    let created = true;
    try {
      transaction = (await this.m.Transaction.create({ ...tx, createdAt: new Date() })).toObject();
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await this.m.Transaction.findById(tx._id).lean();
      if (!existing) throw err;
      transaction = existing;
      created = false;
    }
    // Also when the transaction was there already: a crash may have come between the insert and its postings.
    await this.post(transaction);
    return { transaction, created };
  }

  /** Puts a written transaction on its contact's chain and, for orders and refunds, on a stats chain of its merchant. Idempotent: true if it posted anything. */
  async post(tx: TransactionDoc): Promise<boolean> {
    const posted = await this.chains.append(contactChain(tx.contactId), tx._id, (previous) => contactFold(previous, tx));
    if (!countsInStats(tx)) return posted !== null;
    const counted = await this.chains.append(statsChainOf(tx.merchantId, tx._id), tx._id, (previous) => statsFold(previous, tx));
    return posted !== null || counted !== null;
  }

  /** Which of these transaction ids are written (lookups by _id, a few at a time). */
  async existing(ids: string[]): Promise<Set<string>> {
    const found = await mapLimit(ids, 16, async (id) => ((await this.m.Transaction.exists({ _id: id })) ? id : null));
    return new Set(found.filter((id): id is string => id !== null));
  }

  async transaction(id: string): Promise<TransactionDoc | null> {
    return this.m.Transaction.findById(id).lean();
  }

  async contactsByEmail(merchantId: string, email: string): Promise<ContactView[]> {
    const normalized = normalizeEmail(email);
    if (!normalized) return [];
    const key = await this.m.ContactKey.findById(contactKey(merchantId, normalized)).lean();
    const contact = key ? await this.m.Contact.findById(key.contactId).lean() : null;
    return contact ? [await this.view(contact)] : [];
  }

  async contact(merchantId: string, contactId: string): Promise<ContactView | null> {
    const c = await this.contactDoc(merchantId, contactId);
    return c ? this.view(c) : null;
  }

  /** The merchant's contact of that id, without its balance (one lookup). */
  async contactDoc(merchantId: string, contactId: string): Promise<ContactDoc | null> {
    if (!Types.ObjectId.isValid(contactId)) return null;
    const c = await this.m.Contact.findById(new Types.ObjectId(contactId)).lean();
    return c && c.merchantId === merchantId ? c : null;
  }

  /** The balance: the running total on the contact's newest posting, the sum of every posting before it. */
  async balance(contactId: Types.ObjectId): Promise<number> {
    return (await this.chains.head(contactChain(contactId)))?.balance ?? 0;
  }

  /** Newest first, in the order they were posted; the cursor is opaque (base64url of the next seq). */
  async transactions(merchantId: string, contactId: string, limit: number, cursor?: string): Promise<{ transactions: TransactionView[]; nextCursor: string | null }> {
    const chain = contactChain(contactId);
    const from = cursor ? decodeCursor(cursor) : ((await this.chains.head(chain))?.seq ?? 0);
    const page = await this.chains.range(chain, from, limit);
    const last = page[page.length - 1];
    return {
      transactions: page.map((p) => toView(p)),
      nextCursor: last && last.seq > 1 && page.length === limit ? encodeCursor(last.seq - 1) : null,
    };
  }

  /** The store's default currency as the merchant's newest order recorded it (points and amount-off rewards are in it). */
  async defaultCurrency(merchantId: string): Promise<string | null> {
    const heads = await this.statsHeads(merchantId);
    const newest = heads.filter((h) => h.currency).sort((a, b) => b.postedAt.getTime() - a.postedAt.getTime())[0];
    return newest?.currency ?? null;
  }

  /** The merchant's counts: the sums over its stats chains' newest postings. */
  async stats(merchantId: string): Promise<{ ordersCredited: number; refundsDeducted: number }> {
    const heads = await this.statsHeads(merchantId);
    return {
      ordersCredited: heads.reduce((n, h) => n + (h.ordersCredited ?? 0), 0),
      refundsDeducted: heads.reduce((n, h) => n + (h.refundsDeducted ?? 0), 0),
    };
  }

  private async statsHeads(merchantId: string): Promise<PostingDoc[]> {
    const heads = await Promise.all(Array.from({ length: STATS_CHAINS }, (_, k) => this.chains.head(statsChain(merchantId, k))));
    return heads.filter((h): h is PostingDoc => h !== null);
  }

  private async view(c: ContactDoc): Promise<ContactView> {
    return {
      id: c._id.toHexString(),
      email: c.email,
      balance: await this.balance(c._id),
      bigcommerceCustomerId: c.bigcommerceCustomerId ?? null, // FerretDB drops null fields on read
      createdAt: c.createdAt.toISOString(),
    };
  }
}

/** A transaction's listed fields, with the nulls FerretDB drops on read put back. */
function listedFields(tx: PostedTransaction): PostedTransaction {
  return {
    type: tx.type,
    orderId: tx.orderId ?? null,
    refundId: tx.refundId ?? null,
    redemptionId: tx.redemptionId ?? null,
    amount: tx.amount ?? null,
    currency: tx.currency,
    // Rows from before multi-currency support were all in the default currency.
    defaultAmount: tx.defaultAmount ?? tx.amount ?? null,
    defaultCurrency: tx.defaultCurrency ?? tx.currency,
    exchangeRate: tx.exchangeRate ?? null,
    points: tx.points,
    createdAt: tx.createdAt,
  };
}

/** A contact chain's next posting: the running balance and the transaction as listed. */
export function contactFold(previous: PostingDoc | null, tx: TransactionDoc): { balance: number; tx: PostedTransaction } {
  return { balance: (previous?.balance ?? 0) + tx.points, tx: listedFields(tx) };
}

export const countsInStats = (tx: Pick<TransactionDoc, 'type'>) => tx.type === 'order' || tx.type === 'refund';

/** A stats chain's next posting: the merchant's running counts, and the newest order's default currency. */
export function statsFold(previous: PostingDoc | null, tx: TransactionDoc): Pick<PostingDoc, 'ordersCredited' | 'refundsDeducted' | 'currency'> {
  return {
    ordersCredited: (previous?.ordersCredited ?? 0) + (tx.type === 'order' ? 1 : 0),
    refundsDeducted: (previous?.refundsDeducted ?? 0) + (tx.type === 'refund' ? 1 : 0),
    currency: tx.type === 'order' ? (tx.defaultCurrency ?? tx.currency) : previous?.currency,
  };
}

function toView(p: PostingDoc): TransactionView {
  const tx = listedFields(p.tx as PostedTransaction);
  return { id: p.txId, ...tx, createdAt: new Date(tx.createdAt).toISOString() };
}

export class BadCursorError extends Error {
  override readonly name = 'BadCursorError';
}

function encodeCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ s: seq })).toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s: unknown };
    if (Number.isSafeInteger(v.s) && (v.s as number) > 0) return v.s as number;
  } catch {
    /* fall through */
  }
  throw new BadCursorError('cursor is not one this API gave out');
}
