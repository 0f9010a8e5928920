import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/** AES-256-GCM: iv (12) ‖ ciphertext ‖ tag (16), with optional associated data (authenticated, not stored). */
export function seal(key: Buffer, plaintext: Uint8Array, aad?: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export function open(key: Buffer, sealed: Uint8Array, aad?: string): Buffer {
  const data = Buffer.from(sealed);
  if (data.length < 28) throw new Error('sealed data is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
  if (aad !== undefined) decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
}

export function keyFromBase64(base64Key: string): Buffer {
  const key = Buffer.from(base64Key, 'base64');
  if (key.length !== 32) throw new Error('ENCRYPTION_KEY must be base64 of 32 bytes');
  return key;
}

/** What each derived key is for: one key never serves two purposes. */
export type KeyPurpose = 'credentials' | 'temporal-payloads' | 'coupon-codes';

/** One ENCRYPTION_KEY: its id (public: a hash prefix) and its purpose sub-keys (HKDF-SHA256). */
export class EncryptionKey {
  readonly id: string;
  private readonly subKeys = new Map<KeyPurpose, Buffer>();

  constructor(readonly raw: Buffer) {
    this.id = createHash('sha256').update(raw).digest('hex').slice(0, 12);
  }

  sub(purpose: KeyPurpose): Buffer {
    let k = this.subKeys.get(purpose);
    if (!k) this.subKeys.set(purpose, (k = Buffer.from(hkdfSync('sha256', this.raw, Buffer.alloc(0), `bigcommerce-loyalty:${purpose}`, 32))));
    return k;
  }
}

/**
 * ENCRYPTION_KEY and the ENCRYPTION_OLD_KEYS still accepted for reading
 * (CONTRACT §2, key rotation): everything new is sealed with the current key;
 * what was sealed earlier names its key by id and is opened with it.
 */
export class Keyring {
  readonly current: EncryptionKey;
  private readonly byId = new Map<string, EncryptionKey>();

  constructor(current: string, old: string[] = []) {
    this.current = new EncryptionKey(keyFromBase64(current));
    for (const k of [this.current, ...old.map((o) => new EncryptionKey(keyFromBase64(o)))]) if (!this.byId.has(k.id)) this.byId.set(k.id, k);
  }

  static of(keys: string | Keyring): Keyring {
    return typeof keys === 'string' ? new Keyring(keys) : keys;
  }

  key(id: string): EncryptionKey | undefined {
    return this.byId.get(id);
  }

  /** Every key, the current one first. */
  all(): EncryptionKey[] {
    return [...this.byId.values()];
  }

  unknownKey(id: string): Error {
    return new Error(`sealed with key ${id}, which is neither ENCRYPTION_KEY (${this.current.id}) nor in ENCRYPTION_OLD_KEYS`);
  }
}
