import { type Connection, Types } from 'mongoose';
import { type ContactDoc, ledgerModels, type TransactionDoc } from './models';

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

/** Writes are idempotent inserts keyed by BigCommerce ids; balances are sums (see models.ts). */
export class Ledger {
  private readonly m;

  constructor(conn: Connection) {
    this.m = ledgerModels(conn);
  }

  async init(): Promise<void> {
    await Promise.all([this.m.Contact.init(), this.m.Transaction.init()]);
  }

  /** The contact of `email` (already normalized), created on first use; a guest contact learns its customer id later. */
  async contactFor(merchantId: string, email: string, customerId: number | null): Promise<ContactDoc> {
    for (let attempt = 0; ; attempt++) {
      try {
        const contact = await this.m.Contact.findOneAndUpdate(
          { merchantId, email },
          { $setOnInsert: { merchantId, email, bigcommerceCustomerId: customerId, createdAt: new Date() } },
          { upsert: true, returnDocument: 'after', lean: true },
        );
        if (!contact) throw new Error(`contact upsert for merchant ${merchantId} returned nothing`);
        if (customerId !== null && (contact.bigcommerceCustomerId ?? null) === null) {
          await this.m.Contact.updateOne({ _id: contact._id, bigcommerceCustomerId: null }, { $set: { bigcommerceCustomerId: customerId } });
          contact.bigcommerceCustomerId = customerId;
        }
        return contact;
      } catch (err) {
        // Two upserts raced on the unique (merchantId, email): the loser reads the winner's row.
        if (isDuplicateKey(err) && attempt < 3) continue;
        throw err;
      }
    }
  }

  /** Inserts a transaction once; a second attempt returns the first one and `created: false`. */
  async record(tx: Omit<TransactionDoc, 'createdAt'>): Promise<{ transaction: TransactionDoc; created: boolean }> {
    try {
      const doc = await this.m.Transaction.create({ ...tx, createdAt: new Date() });
      return { transaction: doc.toObject(), created: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await this.m.Transaction.findById(tx._id).lean();
      if (!existing) throw err;
      return { transaction: existing, created: false };
    }
  }

  /** Which of these transaction ids are written (one query, ids only). */
  async existing(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.m.Transaction.find({ _id: { $in: ids } }, { _id: 1 }).lean();
    return new Set(rows.map((r) => r._id));
  }

  async transaction(id: string): Promise<TransactionDoc | null> {
    return this.m.Transaction.findById(id).lean();
  }

  async contactsByEmail(merchantId: string, email: string): Promise<ContactView[]> {
    const normalized = normalizeEmail(email);
    if (!normalized) return [];
    const contacts = await this.m.Contact.find({ merchantId, email: normalized }).lean();
    return Promise.all(contacts.map(async (c) => this.view(c)));
  }

  async contact(merchantId: string, contactId: string): Promise<ContactView | null> {
    if (!Types.ObjectId.isValid(contactId)) return null;
    const c = await this.m.Contact.findOne({ _id: new Types.ObjectId(contactId), merchantId }).lean();
    return c ? this.view(c) : null;
  }

  /** The balance is the sum of the contact's transactions, always. */
  async balance(contactId: Types.ObjectId): Promise<number> {
    const [row] = await this.m.Transaction.aggregate<{ total: number }>([
      { $match: { contactId } },
      { $group: { _id: '$contactId', total: { $sum: '$points' } } },
    ]);
    return row?.total ?? 0;
  }

  /** Newest first; the cursor is opaque (base64url of the last row's time and id). */
  async transactions(merchantId: string, contactId: string, limit: number, cursor?: string): Promise<{ transactions: TransactionView[]; nextCursor: string | null }> {
    const filter: Record<string, unknown> = { merchantId, contactId: new Types.ObjectId(contactId) };
    if (cursor) {
      const { t, id } = decodeCursor(cursor);
      filter.$or = [{ createdAt: { $lt: new Date(t) } }, { createdAt: new Date(t), _id: { $lt: id } }];
    }
    const rows = await this.m.Transaction.find(filter).sort({ createdAt: -1, _id: -1 }).limit(limit + 1).lean();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      transactions: page.map((r) => ({
        id: r._id,
        type: r.type,
        // FerretDB drops null fields on read
        orderId: r.orderId ?? null,
        refundId: r.refundId ?? null,
        redemptionId: r.redemptionId ?? null,
        amount: r.amount ?? null,
        currency: r.currency,
        // Rows from before multi-currency support were all in the default currency.
        defaultAmount: r.defaultAmount ?? r.amount,
        defaultCurrency: r.defaultCurrency ?? r.currency,
        exchangeRate: r.exchangeRate ?? null,
        points: r.points,
        createdAt: r.createdAt.toISOString(),
      })),
      nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt.getTime(), last._id) : null,
    };
  }

  /** The store's default currency as the merchant's newest order recorded it (points and amount-off rewards are in it). */
  async defaultCurrency(merchantId: string): Promise<string | null> {
    const [row] = await this.m.Transaction.find({ merchantId, type: 'order' }).sort({ createdAt: -1 }).limit(1).lean();
    return row ? (row.defaultCurrency ?? row.currency) : null;
  }

  async stats(merchantId: string): Promise<{ ordersCredited: number; refundsDeducted: number }> {
    const [ordersCredited, refundsDeducted] = await Promise.all([
      this.m.Transaction.countDocuments({ merchantId, type: 'order' }),
      this.m.Transaction.countDocuments({ merchantId, type: 'refund' }),
    ]);
    return { ordersCredited, refundsDeducted };
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

export class BadCursorError extends Error {
  override readonly name = 'BadCursorError';
}

function encodeCursor(t: number, id: string): string {
  return Buffer.from(JSON.stringify({ t, id })).toString('base64url');
}

function decodeCursor(cursor: string): { t: number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { t: unknown; id: unknown };
    if (typeof v.t === 'number' && typeof v.id === 'string') return { t: v.t, id: v.id };
  } catch {
    /* fall through */
  }
  throw new BadCursorError('cursor is not one this API gave out');
}
