import { createHash } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { keyFromBase64, open, seal } from '../crypto';

const ENCODING = 'binary/encrypted';
const te = new TextEncoder();
const td = new TextDecoder();

/**
 * Encrypts every Temporal payload (inputs, results, signals, queries, failure
 * details) with AES-256-GCM under ENCRYPTION_KEY, so workflow histories hold
 * ciphertext only. Search attributes are not payloads and are never encrypted:
 * keep secrets out of them. The Web UI shows plaintext through the codec
 * endpoint of the API (`/codec`) when pointed at it.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly key: Buffer;
  readonly keyId: string;

  constructor(base64Key: string) {
    this.key = keyFromBase64(base64Key);
    this.keyId = createHash('sha256').update(this.key).digest('hex').slice(0, 12);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const data = seal(this.key, temporal.api.common.v1.Payload.encode(payload).finish());
      return {
        metadata: { encoding: te.encode(ENCODING), 'encryption-key-id': te.encode(this.keyId) },
        data: new Uint8Array(data),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (!payload.metadata || td.decode(payload.metadata.encoding) !== ENCODING) return payload;
      const keyId = payload.metadata['encryption-key-id'];
      if (keyId && td.decode(keyId) !== this.keyId) {
        throw new Error(`payload was encrypted with key ${td.decode(keyId)}, not the configured ENCRYPTION_KEY (${this.keyId})`);
      }
      return temporal.api.common.v1.Payload.decode(open(this.key, payload.data ?? new Uint8Array())) as Payload;
    });
  }
}

export function dataConverter(encryptionKey: string) {
  return { payloadCodecs: [new AesGcmPayloadCodec(encryptionKey)] };
}
