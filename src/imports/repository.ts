import { type Connection, type Model, Schema } from 'mongoose';

export const IMPORT_STATUSES = ['running', 'completed', 'failed'] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

/** A historical import (CONTRACT §3): what the dashboard asked for and how far it got. */
export interface ImportView {
  importId: string;
  since: string;
  status: ImportStatus;
  ordersSeen: number;
  ordersCredited: number;
  lastError: string | null;
}

interface ImportDoc {
  _id: string;
  merchantId: string;
  importId: string;
  since: Date;
  status: ImportStatus;
  ordersSeen: number;
  ordersCredited: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const importSchema = new Schema<ImportDoc>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    importId: { type: String, required: true },
    since: { type: Date, required: true },
    status: { type: String, enum: IMPORT_STATUSES, required: true },
    ordersSeen: { type: Number, required: true },
    ordersCredited: { type: Number, required: true },
    lastError: { type: String, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'imports' },
);

const key = (merchantId: string, importId: string) => `${merchantId}:${importId}`;

export class ImportRepository {
  private readonly Import: Model<ImportDoc>;

  constructor(conn: Connection) {
    this.Import = (conn.models.Import as Model<ImportDoc> | undefined) ?? conn.model<ImportDoc>('Import', importSchema);
  }

  async init(): Promise<void> {
    await this.Import.init();
  }

  async create(merchantId: string, importId: string, since: Date): Promise<ImportView> {
    const now = new Date();
    const doc = await this.Import.create({ _id: key(merchantId, importId), merchantId, importId, since, status: 'running', ordersSeen: 0, ordersCredited: 0, lastError: null, createdAt: now, updatedAt: now });
    return toView(doc.toObject());
  }

  async get(merchantId: string, importId: string): Promise<ImportView | null> {
    const doc = await this.Import.findById(key(merchantId, importId)).lean();
    return doc ? toView(doc) : null;
  }

  /** The import workflow's running totals (a retried write sets the same values). */
  async recordProgress(merchantId: string, importId: string, progress: Pick<ImportView, 'status' | 'ordersSeen' | 'ordersCredited' | 'lastError'>): Promise<void> {
    await this.Import.updateOne({ _id: key(merchantId, importId) }, { $set: { ...progress, updatedAt: new Date() } });
  }
}

function toView(doc: ImportDoc): ImportView {
  return {
    importId: doc.importId,
    since: doc.since.toISOString(),
    status: doc.status,
    ordersSeen: doc.ordersSeen,
    ordersCredited: doc.ordersCredited,
    lastError: doc.lastError ?? null, // FerretDB drops null fields on read
  };
}
