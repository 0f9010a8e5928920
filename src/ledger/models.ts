import { type Connection, Schema } from 'mongoose';

/**
 * The ledger needs no multi-document transaction (neither FerretDB nor a
 * standalone mongod has them), and no read of it scans: every read is a
 * lookup by `_id`, the one filter every MongoDB-compatible store answers from
 * an index (FerretDB's SQLite handler pushes down nothing else).
 *
 * - `transactions` are immutable. Each `_id` is derived from BigCommerce's ids
 *   (`order:{merchantId}:{orderId}`, `refund:{merchantId}:{refundId}`), so
 *   writing one is a single insert that the primary key makes impossible to do
 *   twice: a duplicate webhook, an activity retry or a replay after a crash
 *   gets E11000 and reads the existing row instead.
 * - `postings` (postings.ts) put each transaction in order on its contact's
 *   chain, `c:{contactId}:1, :2, …`, each carrying the running balance, and
 *   each order and refund on one of the merchant's stats chains with running
 *   counts. A posting is one insert whose `_id` (the next seq) and unique
 *   (chain, txId) make it exactly-once under any concurrency, on any store.
 *   The balance is the newest posting's: it is the sum of the postings before
 *   it by construction, so it never drifts from the transactions it lists.
 * - `contactKeys` find a contact by merchant and email (`{merchantId}:{email}`).
 *
 * Write order: contact key, contact, transaction, postings. Cut anywhere, the
 * retried activity (or `npm run migrate`) finishes the job; a transaction not
 * yet posted is simply not yet visible, and is posted before its activity
 * completes.
 */
export interface ContactDoc {
  _id: import('mongoose').Types.ObjectId;
  merchantId: string;
  email: string;
  bigcommerceCustomerId: number | null;
  createdAt: Date;
}

export const TRANSACTION_TYPES = ['order', 'refund', 'redemption', 'redemption_reversal'] as const;
export type TransactionType = (typeof TRANSACTION_TYPES)[number];

export interface TransactionDoc {
  _id: string;
  merchantId: string;
  contactId: import('mongoose').Types.ObjectId;
  type: TransactionType;
  /** null on redemptions and their reversals */
  orderId: number | null;
  refundId: number | null;
  redemptionId?: string | null;
  /** A redemption's request, canonical JSON: the same redemptionId with another body is a conflict. */
  requestHash?: string;
  /**
   * As BigCommerce gave it: the order total or refund amount, in the currency the
   * shopper paid; on a redemption, the reward's amount off (null for a percentage or free shipping).
   */
  amount: string | null;
  currency: string;
  /**
   * The same amount in the store's default currency, which points are earned in
   * (rule 1): equal to amount/currency on single-currency stores; rounded half
   * up to 4 decimals for the record (points use the exact quotient). Absent on
   * rows written before multi-currency support, which were all single-currency.
   */
  defaultAmount?: string | null;
  defaultCurrency?: string;
  /** The default → transactional rate the amount was divided by, on multi-currency orders. */
  exchangeRate?: string | null;
  points: number;
  /**
   * The workflow run that wrote it (orders and refunds). A local activity whose
   * workflow task failed after it ran (a signal raced the completion) runs again
   * in the same run: that is still this run's credit, not someone else's.
   */
  runId?: string;
  createdAt: Date;
}

const contactSchema = new Schema<ContactDoc>(
  {
    merchantId: { type: String, required: true },
    email: { type: String, required: true },
    bigcommerceCustomerId: { type: Number, default: null },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'contacts' },
);
contactSchema.index({ merchantId: 1, email: 1 }, { unique: true });

const transactionSchema = new Schema<TransactionDoc>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    contactId: { type: Schema.Types.ObjectId, required: true },
    type: { type: String, enum: TRANSACTION_TYPES, required: true },
    orderId: { type: Number, default: null },
    refundId: { type: Number, default: null },
    redemptionId: { type: String, default: null },
    requestHash: { type: String },
    amount: { type: String, default: null },
    currency: { type: String, required: true },
    defaultAmount: { type: String },
    defaultCurrency: { type: String },
    exchangeRate: { type: String, default: null },
    points: { type: Number, required: true },
    runId: { type: String },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'transactions' },
);

export interface ContactKeyDoc {
  /** `{merchantId}:{normalized email}` */
  _id: string;
  contactId: import('mongoose').Types.ObjectId;
}

const contactKeySchema = new Schema<ContactKeyDoc>(
  { _id: { type: String, required: true }, contactId: { type: Schema.Types.ObjectId, required: true } },
  { versionKey: false, collection: 'contactKeys' },
);

/** The transaction as its contact's listing shows it, copied onto the posting so a page is read from postings alone. */
export type PostedTransaction = Pick<TransactionDoc, 'type' | 'orderId' | 'refundId' | 'redemptionId' | 'amount' | 'currency' | 'defaultAmount' | 'defaultCurrency' | 'exchangeRate' | 'points' | 'createdAt'>;

export interface PostingDoc {
  /** `{chain}:{seq}` */
  _id: string;
  chain: string;
  seq: number;
  txId: string;
  /** Contact chains: the balance after this posting, and the transaction. */
  balance?: number;
  tx?: PostedTransaction;
  /** Stats chains: the merchant's counts after this posting, and the newest order's default currency. */
  ordersCredited?: number;
  refundsDeducted?: number;
  currency?: string;
  postedAt: Date;
}

const postingSchema = new Schema<PostingDoc>(
  {
    _id: { type: String, required: true },
    chain: { type: String, required: true },
    seq: { type: Number, required: true },
    txId: { type: String, required: true },
    balance: { type: Number },
    tx: { type: Schema.Types.Mixed },
    ordersCredited: { type: Number },
    refundsDeducted: { type: Number },
    currency: { type: String },
    postedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'postings' },
);
/** A transaction is posted once per chain: a second insert for it fails whatever seq it tries. */
postingSchema.index({ chain: 1, txId: 1 }, { unique: true, name: 'chain_txId' });

/** Where a chain ended when last seen: a lower bound of its head, only ever a hint (see postings.ts). */
export interface HeadDoc {
  _id: string;
  seq: number;
}

const headSchema = new Schema<HeadDoc>({ _id: { type: String, required: true }, seq: { type: Number, required: true } }, { versionKey: false, collection: 'heads' });

/** Data migrations done on this store (`npm run migrate`). */
export interface MigrationDoc {
  _id: string;
  completedAt: Date;
  summary?: Record<string, number>;
}

const migrationSchema = new Schema<MigrationDoc>(
  { _id: { type: String, required: true }, completedAt: { type: Date, required: true }, summary: { type: Schema.Types.Mixed } },
  { versionKey: false, collection: 'migrations' },
);

export function ledgerModels(conn: Connection) {
  return {
    Contact: conn.models.Contact ?? conn.model<ContactDoc>('Contact', contactSchema),
    Transaction: conn.models.Transaction ?? conn.model<TransactionDoc>('Transaction', transactionSchema),
    ContactKey: conn.models.ContactKey ?? conn.model<ContactKeyDoc>('ContactKey', contactKeySchema),
    Posting: conn.models.Posting ?? conn.model<PostingDoc>('Posting', postingSchema),
    Head: conn.models.Head ?? conn.model<HeadDoc>('Head', headSchema),
    Migration: conn.models.Migration ?? conn.model<MigrationDoc>('Migration', migrationSchema),
  } as {
    Contact: import('mongoose').Model<ContactDoc>;
    Transaction: import('mongoose').Model<TransactionDoc>;
    ContactKey: import('mongoose').Model<ContactKeyDoc>;
    Posting: import('mongoose').Model<PostingDoc>;
    Head: import('mongoose').Model<HeadDoc>;
    Migration: import('mongoose').Model<MigrationDoc>;
  };
}
