import { type Connection, type Model, Schema } from 'mongoose';
import type { RedemptionStatus, Reward } from '../workflows/messages';

interface RedemptionDoc {
  _id: string;
  merchantId: string;
  redemptionId: string;
  contactId: string;
  points: number;
  reward: Reward;
  status: RedemptionStatus;
  couponCode: string | null;
  promotionId: number | null;
  expiresAt: Date | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A redemption as the dashboard reads it (CONTRACT §3). The coupon code is a bearer token: never logged. */
export type RedemptionView = Omit<RedemptionDoc, '_id' | 'merchantId' | 'promotionId' | 'updatedAt' | 'expiresAt' | 'createdAt'> & {
  expiresAt: string | null;
  createdAt: string;
};

const redemptionSchema = new Schema<RedemptionDoc>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    redemptionId: { type: String, required: true },
    contactId: { type: String, required: true },
    points: { type: Number, required: true },
    reward: { type: Schema.Types.Mixed, required: true },
    status: { type: String, required: true },
    couponCode: { type: String, default: null },
    promotionId: { type: Number, default: null },
    expiresAt: { type: Date, default: null },
    lastError: { type: String, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'redemptions' },
);

const key = (merchantId: string, redemptionId: string) => `${merchantId}:${redemptionId}`;

export type RedemptionUpdate = Partial<Pick<RedemptionDoc, 'status' | 'couponCode' | 'promotionId' | 'lastError'>>;

export class RedemptionRepository {
  private readonly Redemption: Model<RedemptionDoc>;

  constructor(conn: Connection) {
    this.Redemption = (conn.models.Redemption as Model<RedemptionDoc> | undefined) ?? conn.model<RedemptionDoc>('Redemption', redemptionSchema);
  }

  async init(): Promise<void> {
    await this.Redemption.init();
  }

  /** Creates the redemption's record once (`pending`); a second call leaves the first as it is. */
  async createOnce(r: { merchantId: string; redemptionId: string; contactId: string; points: number; reward: Reward; expiresAt: number | null }): Promise<void> {
    const now = new Date();
    try {
      await this.Redemption.updateOne(
        { _id: key(r.merchantId, r.redemptionId) },
        {
          $setOnInsert: {
            merchantId: r.merchantId,
            redemptionId: r.redemptionId,
            contactId: r.contactId,
            points: r.points,
            reward: r.reward,
            status: 'pending',
            couponCode: null,
            promotionId: null,
            expiresAt: r.expiresAt === null ? null : new Date(r.expiresAt),
            lastError: null,
            createdAt: now,
            updatedAt: now,
          },
        },
        { upsert: true },
      );
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
  }

  async update(merchantId: string, redemptionId: string, update: RedemptionUpdate): Promise<void> {
    await this.Redemption.updateOne({ _id: key(merchantId, redemptionId) }, { $set: { ...update, updatedAt: new Date() } });
  }

  async get(merchantId: string, redemptionId: string): Promise<RedemptionView | null> {
    const d = await this.Redemption.findById(key(merchantId, redemptionId)).lean();
    if (!d) return null;
    // FerretDB drops null fields on read
    return {
      redemptionId: d.redemptionId,
      contactId: d.contactId,
      points: d.points,
      reward: d.reward,
      status: d.status,
      couponCode: d.couponCode ?? null,
      expiresAt: d.expiresAt ? d.expiresAt.toISOString() : null,
      lastError: d.lastError ?? null,
      createdAt: d.createdAt.toISOString(),
    };
  }
}
