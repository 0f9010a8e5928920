import { type Connection, Schema } from 'mongoose';

/**
 * The ledger is two collections and needs no multi-document transaction
 * (neither FerretDB nor a standalone mongod has them):
 *
 * - `transactions` are immutable. Each `_id` is derived from BigCommerce's ids
 *   (`order:{merchantId}:{orderId}`, `refund:{merchantId}:{refundId}`), so
 *   writing one is a single insert that the primary key makes impossible to do
 *   twice: a duplicate webhook, an activity retry or a replay after a crash
 *   gets E11000 and reads the existing row instead.
 * - A contact's balance is not stored: it is the sum of its transactions,
 *   computed when read. There is no second write that could be lost, so the
 *   balance equals the sum of the transactions whatever moment a process dies.
 *
 * The write order (contact upsert, then transaction insert) is safe to cut
 * anywhere: a contact with no transactions has balance 0 and the retried
 * activity finishes the job.
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
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'transactions' },
);
transactionSchema.index({ contactId: 1, createdAt: -1, _id: -1 });
transactionSchema.index({ merchantId: 1, type: 1 });

export function ledgerModels(conn: Connection) {
  return {
    Contact: conn.models.Contact ?? conn.model<ContactDoc>('Contact', contactSchema),
    Transaction: conn.models.Transaction ?? conn.model<TransactionDoc>('Transaction', transactionSchema),
  } as {
    Contact: import('mongoose').Model<ContactDoc>;
    Transaction: import('mongoose').Model<TransactionDoc>;
  };
}
