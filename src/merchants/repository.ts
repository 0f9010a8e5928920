import { randomBytes } from 'node:crypto';
import { type Connection, type Model, Schema } from 'mongoose';
import { keyFromBase64, open, seal } from '../crypto';

export const MERCHANT_STATUSES = ['installing', 'active', 'failed', 'uninstalled'] as const;
export type MerchantStatus = (typeof MERCHANT_STATUSES)[number];

export interface WebhookRef {
  scope: string;
  id: number;
  isActive: boolean;
}

/** What never leaves the store in clear text: sealed with AES-256-GCM under ENCRYPTION_KEY. */
export interface MerchantSecrets {
  accessToken: string;
  clientSecret: string | null;
  /** Sent by BigCommerce in a header with every callback; generated once per merchant. */
  webhookSecret: string;
}

interface MerchantDoc {
  _id: string;
  storeHash: string;
  apiBase: string;
  clientId: string;
  name: string | null;
  sealedSecrets: Buffer;
  pointsPerCurrencyUnit: string;
  status: MerchantStatus;
  missingScopes: string[];
  webhooks: WebhookRef[];
  lastError: string | null;
  installedAt: Date;
  installGeneration: number;
  updatedAt: Date;
}

const merchantSchema = new Schema<MerchantDoc>(
  {
    _id: { type: String, required: true },
    storeHash: { type: String, required: true },
    apiBase: { type: String, required: true },
    clientId: { type: String, required: true },
    name: { type: String, default: null },
    sealedSecrets: { type: Buffer, required: true },
    pointsPerCurrencyUnit: { type: String, required: true },
    status: { type: String, enum: MERCHANT_STATUSES, required: true },
    missingScopes: { type: [String], default: [] },
    webhooks: { type: [{ _id: false, scope: String, id: Number, isActive: Boolean }], default: [] },
    lastError: { type: String, default: null },
    installedAt: { type: Date, required: true },
    installGeneration: { type: Number, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'merchants' },
);

export interface InstallRequest {
  merchantId: string;
  storeHash: string;
  apiBase: string;
  clientId: string;
  name: string | null;
  accessToken: string;
  clientSecret: string | null;
  pointsPerCurrencyUnit: string;
}

/** A merchant as the rest of the code sees it: no secrets. */
export type MerchantState = Omit<MerchantDoc, '_id' | 'clientId' | 'sealedSecrets' | 'updatedAt'> & { merchantId: string };

export type StatusUpdate = Partial<Pick<MerchantState, 'missingScopes' | 'webhooks' | 'lastError'>> & { status: MerchantStatus };

export class MerchantRepository {
  private readonly Merchant: Model<MerchantDoc>;
  private readonly key: Buffer;

  constructor(conn: Connection, encryptionKey: string) {
    this.Merchant = (conn.models.Merchant as Model<MerchantDoc> | undefined) ?? conn.model<MerchantDoc>('Merchant', merchantSchema);
    this.key = keyFromBase64(encryptionKey);
  }

  async init(): Promise<void> {
    await this.Merchant.init();
  }

  /**
   * Saves (re-)install credentials and bumps the install generation; status
   * becomes `installing`. The webhook secret survives re-installs so hooks
   * already registered keep authenticating. A merchant coming back after an
   * uninstall gets a new installedAt.
   */
  async saveInstall(req: InstallRequest): Promise<MerchantState> {
    const existing = await this.Merchant.findById(req.merchantId).lean();
    const previous = existing ? this.unseal(existing.sealedSecrets) : undefined;
    const secrets: MerchantSecrets = {
      accessToken: req.accessToken,
      clientSecret: req.clientSecret,
      webhookSecret: previous?.webhookSecret ?? randomBytes(32).toString('base64url'),
    };
    const now = new Date();
    const installedAt = existing && existing.status !== 'uninstalled' ? existing.installedAt : now;
    const doc = await this.Merchant.findOneAndUpdate(
      { _id: req.merchantId },
      {
        $set: {
          storeHash: req.storeHash,
          apiBase: req.apiBase,
          clientId: req.clientId,
          name: req.name,
          sealedSecrets: seal(this.key, Buffer.from(JSON.stringify(secrets))),
          pointsPerCurrencyUnit: req.pointsPerCurrencyUnit,
          status: 'installing',
          missingScopes: [],
          lastError: null,
          installedAt,
          updatedAt: now,
        },
        $inc: { installGeneration: 1 },
      },
      { upsert: true, returnDocument: 'after', lean: true },
    );
    if (!doc) throw new Error(`saving merchant ${req.merchantId} returned nothing`);
    return toState(doc);
  }

  async get(merchantId: string): Promise<MerchantState | null> {
    const doc = await this.Merchant.findById(merchantId).lean();
    return doc ? toState(doc) : null;
  }

  async secrets(merchantId: string): Promise<(MerchantSecrets & { state: MerchantState }) | null> {
    const doc = await this.Merchant.findById(merchantId).lean();
    return doc ? { ...this.unseal(doc.sealedSecrets), state: toState(doc) } : null;
  }

  /**
   * Records what the merchant workflow found, unless a newer install has
   * started since (its generation moved on): a stale verification never
   * overwrites a fresh one. Returns whether it applied.
   */
  async recordStatus(merchantId: string, generation: number, update: StatusUpdate): Promise<boolean> {
    const res = await this.Merchant.updateOne({ _id: merchantId, installGeneration: generation }, { $set: { ...update, updatedAt: new Date() } });
    return res.matchedCount === 1;
  }

  /**
   * Records the uninstall; with a generation, only if no re-install has been
   * saved since (that re-install's `installing` must not be overwritten).
   */
  async markUninstalled(merchantId: string, lastError: string | null = null, generation?: number): Promise<boolean> {
    const filter = generation === undefined ? { _id: merchantId } : { _id: merchantId, installGeneration: generation };
    const res = await this.Merchant.updateOne(filter, { $set: { status: 'uninstalled', webhooks: [], lastError, updatedAt: new Date() } });
    return res.matchedCount === 1;
  }

  /** Lean reads give a BSON Binary, whose bytes are in `.buffer`. */
  private unseal(sealed: unknown): MerchantSecrets {
    const bytes = Buffer.isBuffer(sealed) ? sealed : Buffer.from((sealed as { buffer: Uint8Array }).buffer);
    return JSON.parse(open(this.key, bytes).toString('utf8')) as MerchantSecrets;
  }
}

function toState(doc: MerchantDoc): MerchantState {
  return {
    merchantId: doc._id,
    storeHash: doc.storeHash,
    apiBase: doc.apiBase,
    name: doc.name,
    pointsPerCurrencyUnit: doc.pointsPerCurrencyUnit,
    status: doc.status,
    missingScopes: doc.missingScopes ?? [],
    webhooks: (doc.webhooks ?? []).map((w) => ({ scope: w.scope, id: w.id, isActive: w.isActive })),
    lastError: doc.lastError ?? null,
    installedAt: doc.installedAt,
    installGeneration: doc.installGeneration,
  };
}
