import { randomBytes } from 'node:crypto';
import { type Connection, type Model, Schema } from 'mongoose';
import { Keyring, open, seal } from '../crypto';
import { KeyedSerial } from '../keyed-serial';

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
  /** AES-256-GCM; see `seal`/`unseal` for the two formats. */
  sealedSecrets: Buffer;
  /** The key that sealed `sealedSecrets` (its HKDF credentials sub-key, the merchant id as associated data); absent: sealed with ENCRYPTION_KEY itself, before key rotation. */
  secretsKeyId?: string;
  pointsPerCurrencyUnit: string;
  status: MerchantStatus;
  missingScopes: string[];
  webhooks: WebhookRef[];
  lastError: string | null;
  /** The first time the merchant became active (since its last uninstall); null until then. */
  installedAt: Date | null;
  installGeneration: number;
  /** What the last reconciliation found (rule 8); absent until the first one. */
  reconciliation?: ReconciliationRecord;
  updatedAt: Date;
}

export interface ReconciliationRecord {
  lastRunAt: Date | null;
  ordersRecovered: number;
  refundsRecovered: number;
  webhooksRepaired: number;
}

const merchantSchema = new Schema<MerchantDoc>(
  {
    _id: { type: String, required: true },
    storeHash: { type: String, required: true },
    apiBase: { type: String, required: true },
    clientId: { type: String, required: true },
    name: { type: String, default: null },
    sealedSecrets: { type: Buffer, required: true },
    secretsKeyId: { type: String },
    pointsPerCurrencyUnit: { type: String, required: true },
    status: { type: String, enum: MERCHANT_STATUSES, required: true },
    missingScopes: { type: [String], default: [] },
    webhooks: { type: [{ _id: false, scope: String, id: Number, isActive: Boolean }], default: [] },
    lastError: { type: String, default: null },
    installedAt: { type: Date, default: null },
    installGeneration: { type: Number, required: true },
    reconciliation: {
      type: { _id: false, lastRunAt: Date, ordersRecovered: Number, refundsRecovered: Number, webhooksRepaired: Number },
      default: undefined,
    },
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
export type MerchantState = Omit<MerchantDoc, '_id' | 'clientId' | 'sealedSecrets' | 'secretsKeyId' | 'updatedAt'> & { merchantId: string };

export type StatusUpdate = Partial<Pick<MerchantState, 'missingScopes' | 'webhooks' | 'lastError'>> & { status: MerchantStatus };

export class MerchantRepository {
  private readonly Merchant: Model<MerchantDoc>;
  private readonly keys: Keyring;
  /**
   * FerretDB v1 (the embedded store) applies an update as a read, then a write,
   * without isolation: measured, 40 concurrent `$inc`s of one document left +3,
   * and 40 concurrent `updateOne({g: 0}, {$set: {g: 1}})` matched 4 times.
   * MongoDB applies each update atomically. So the fenced read-modify-writes of
   * a merchant's record run one at a time per merchant in this process: that
   * covers `npm start` (API and worker in one process, where the embedded store
   * runs); production runs MongoDB, whose atomic updates need nothing more.
   */
  private readonly serial = new KeyedSerial();

  constructor(conn: Connection, keys: string | Keyring) {
    this.Merchant = (conn.models.Merchant as Model<MerchantDoc> | undefined) ?? conn.model<MerchantDoc>('Merchant', merchantSchema);
    this.keys = Keyring.of(keys);
  }

  async init(): Promise<void> {
    await this.Merchant.init();
  }

  /**
   * Saves (re-)install credentials and bumps the install generation; status
   * becomes `installing`. The first install binds the merchant id to its store
   * for good: another store hash is a StoreMismatchError and writes nothing.
   * The webhook secret is made once, with the record, so concurrent first
   * installs share it and hooks already registered keep authenticating.
   * A merchant coming back after an uninstall gets a new installedAt.
   *
   * Safe under concurrency by construction: an insert-if-absent, then one
   * atomic update filtered by the bound store hash; no read decides a write
   * except the webhook secret, which never changes once made.
   */
  async saveInstall(req: InstallRequest): Promise<MerchantState> {
    return this.serial.run(req.merchantId, () => this.saveInstallNow(req));
  }

  private async saveInstallNow(req: InstallRequest): Promise<MerchantState> {
    await this.createOnce(req);
    const existing = await this.Merchant.findById(req.merchantId).lean();
    if (!existing) throw new Error(`merchant ${req.merchantId} vanished while installing`);
    if (existing.storeHash !== req.storeHash) throw new StoreMismatchError(req.merchantId, existing.storeHash, req.storeHash);
    const secrets: MerchantSecrets = {
      accessToken: req.accessToken,
      clientSecret: req.clientSecret,
      webhookSecret: this.unseal(existing).webhookSecret,
    };
    const doc = await this.Merchant.findOneAndUpdate(
      { _id: req.merchantId, storeHash: req.storeHash },
      {
        $set: { ...this.installFields(req, secrets), ...(existing.status === 'uninstalled' ? { installedAt: null } : {}) },
        $inc: { installGeneration: 1 },
      },
      { returnDocument: 'after', lean: true },
    );
    if (!doc) throw new Error(`saving merchant ${req.merchantId} returned nothing`);
    return toState(doc);
  }

  /** What every (re-)install writes: the account, sealed secrets, the rate, and a fresh `installing`. */
  private installFields(req: InstallRequest, secrets: MerchantSecrets) {
    return {
      apiBase: req.apiBase,
      clientId: req.clientId,
      name: req.name,
      ...this.seal(req.merchantId, secrets),
      pointsPerCurrencyUnit: req.pointsPerCurrencyUnit,
      status: 'installing' as const,
      missingScopes: [],
      lastError: null,
      updatedAt: new Date(),
    };
  }

  /** Inserts the merchant's record if there is none; a concurrent insert that won is just as good. */
  private async createOnce(req: InstallRequest): Promise<void> {
    const secrets: MerchantSecrets = { accessToken: req.accessToken, clientSecret: req.clientSecret, webhookSecret: randomBytes(32).toString('base64url') };
    try {
      await this.Merchant.updateOne(
        { _id: req.merchantId },
        {
          $setOnInsert: { storeHash: req.storeHash, ...this.installFields(req, secrets), webhooks: [], installedAt: null, installGeneration: 0 },
        },
        { upsert: true },
      );
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
  }

  async get(merchantId: string): Promise<MerchantState | null> {
    const doc = await this.Merchant.findById(merchantId).lean();
    return doc ? toState(doc) : null;
  }

  async secrets(merchantId: string): Promise<(MerchantSecrets & { state: MerchantState }) | null> {
    const doc = await this.Merchant.findById(merchantId).lean();
    return doc ? { ...this.unseal(doc), state: toState(doc) } : null;
  }

  /**
   * Records what the merchant workflow found, unless a newer install has
   * started since (its generation moved on): a stale verification never
   * overwrites a fresh one. Returns whether it applied.
   */
  async recordStatus(merchantId: string, generation: number, update: StatusUpdate): Promise<{ applied: boolean; installedAt: number | null }> {
    return this.serial.run(merchantId, () => this.recordStatusNow(merchantId, generation, update));
  }

  private async recordStatusNow(merchantId: string, generation: number, update: StatusUpdate): Promise<{ applied: boolean; installedAt: number | null }> {
    const fence = { _id: merchantId, installGeneration: generation };
    const now = new Date();
    // installedAt is the first activation: set once, only where it is still unset.
    if (update.status === 'active') await this.Merchant.updateOne({ ...fence, installedAt: null }, { $set: { installedAt: now } });
    const doc = await this.Merchant.findOneAndUpdate(fence, { $set: { ...update, updatedAt: now } }, { returnDocument: 'after', lean: true });
    return { applied: doc !== null, installedAt: doc?.installedAt ? doc.installedAt.getTime() : null };
  }

  /**
   * Records a reconciliation's totals and what BigCommerce said of the hooks,
   * unless a newer install has started since. The totals are the workflow's
   * running sums, so a retried write is harmless.
   */
  async recordReconciliation(merchantId: string, generation: number, reconciliation: ReconciliationRecord, webhooks: WebhookRef[] | null): Promise<boolean> {
    return this.serial.run(merchantId, async () => {
      const $set = { reconciliation, ...(webhooks ? { webhooks } : {}), updatedAt: new Date() };
      const res = await this.Merchant.updateOne({ _id: merchantId, installGeneration: generation, status: 'active' }, { $set });
      return res.matchedCount === 1;
    });
  }

  /**
   * Records the uninstall; with a generation, only if no re-install has been
   * saved since (that re-install's `installing` must not be overwritten).
   */
  async markUninstalled(merchantId: string, lastError: string | null = null, generation?: number): Promise<boolean> {
    return this.serial.run(merchantId, () => this.markUninstalledNow(merchantId, lastError, generation));
  }

  private async markUninstalledNow(merchantId: string, lastError: string | null, generation?: number): Promise<boolean> {
    const filter = generation === undefined ? { _id: merchantId } : { _id: merchantId, installGeneration: generation };
    const res = await this.Merchant.updateOne(filter, { $set: { status: 'uninstalled', webhooks: [], lastError, updatedAt: new Date() } });
    return res.matchedCount === 1;
  }

  /** Sealed with the current key's credentials sub-key, bound to the merchant id (a record copied to another merchant does not open). */
  private seal(merchantId: string, secrets: MerchantSecrets): Pick<MerchantDoc, 'sealedSecrets' | 'secretsKeyId'> {
    const key = this.keys.current;
    return { sealedSecrets: seal(key.sub('credentials'), Buffer.from(JSON.stringify(secrets)), merchantId), secretsKeyId: key.id };
  }

  private unseal(doc: Pick<MerchantDoc, '_id' | 'sealedSecrets' | 'secretsKeyId'>): MerchantSecrets {
    // Lean reads give a BSON Binary, whose bytes are in `.buffer`.
    const sealed = doc.sealedSecrets as unknown;
    const bytes = Buffer.isBuffer(sealed) ? sealed : Buffer.from((sealed as { buffer: Uint8Array }).buffer);
    if (doc.secretsKeyId) {
      const key = this.keys.key(doc.secretsKeyId);
      if (!key) throw this.keys.unknownKey(doc.secretsKeyId);
      return JSON.parse(open(key.sub('credentials'), bytes, doc._id).toString('utf8')) as MerchantSecrets;
    }
    // Sealed before key rotation existed: with a key itself, no key id; try each key.
    for (const key of this.keys.all()) {
      try {
        return JSON.parse(open(key.raw, bytes).toString('utf8')) as MerchantSecrets;
      } catch {
        // not this key
      }
    }
    throw new Error(`the credentials of merchant ${doc._id} open with none of ENCRYPTION_KEY and ENCRYPTION_OLD_KEYS`);
  }

  /**
   * Re-seals every merchant's credentials that another key sealed with the
   * current key (`npm run rotate-keys`). Fenced by the install generation, so
   * a re-install saved meanwhile is not overwritten with older credentials.
   */
  async resealAll(): Promise<{ resealed: number; current: number }> {
    let resealed = 0;
    let current = 0;
    for await (const doc of this.Merchant.find({}).lean().cursor()) {
      if (doc.secretsKeyId === this.keys.current.id) {
        current++;
        continue;
      }
      const secrets = this.unseal(doc);
      await this.serial.run(doc._id, () =>
        this.Merchant.updateOne({ _id: doc._id, installGeneration: doc.installGeneration }, { $set: this.seal(doc._id, secrets) }),
      );
      resealed++;
    }
    return { resealed, current };
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
    installedAt: doc.installedAt ?? null, // FerretDB drops null fields on read
    installGeneration: doc.installGeneration,
    reconciliation: doc.reconciliation
      ? {
          lastRunAt: doc.reconciliation.lastRunAt ?? null,
          ordersRecovered: doc.reconciliation.ordersRecovered ?? 0,
          refundsRecovered: doc.reconciliation.refundsRecovered ?? 0,
          webhooksRepaired: doc.reconciliation.webhooksRepaired ?? 0,
        }
      : undefined,
  };
}

/** The merchant id is bound to another BigCommerce store (CONTRACT §3: 409 store_mismatch). */
export class StoreMismatchError extends Error {
  override readonly name = 'StoreMismatchError';
  constructor(
    readonly merchantId: string,
    readonly boundStoreHash: string,
    readonly requestedStoreHash: string,
  ) {
    super(`merchant ${merchantId} is connected to BigCommerce store ${boundStoreHash}, not ${requestedStoreHash}; connect another store under another merchant id`);
  }
}
