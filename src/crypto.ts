import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** AES-256-GCM: iv (12) ‖ ciphertext ‖ tag (16). Used for credentials at rest and Temporal payloads. */
export function seal(key: Buffer, plaintext: Uint8Array): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export function open(key: Buffer, sealed: Uint8Array): Buffer {
  const data = Buffer.from(sealed);
  if (data.length < 28) throw new Error('sealed data is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
}

export function keyFromBase64(base64Key: string): Buffer {
  const key = Buffer.from(base64Key, 'base64');
  if (key.length !== 32) throw new Error('ENCRYPTION_KEY must be base64 of 32 bytes');
  return key;
}

/** A sub-key for one purpose, derived from ENCRYPTION_KEY with HKDF-SHA256. */
export function subKey(base64Key: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', keyFromBase64(base64Key), Buffer.alloc(0), `bigcommerce-loyalty:${purpose}`, 32));
}
