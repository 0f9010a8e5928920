import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Keyring, open, seal } from '../crypto';

const ENCODING = 'binary/encrypted';
/** Payloads sealed with the key's HKDF sub-key for payloads; those without it (written before key rotation) used the key itself. */
const SCHEME = 'hkdf-sha256/v2';
const te = new TextEncoder();
const td = new TextDecoder();

/**
 * Encrypts every Temporal payload (inputs, results, signals, queries, failure
 * details) with AES-256-GCM under a sub-key of ENCRYPTION_KEY, so workflow
 * histories hold ciphertext only. Each payload names its key; payloads of an
 * earlier key are read with ENCRYPTION_OLD_KEYS. Search attributes are not
 * payloads and are never encrypted: keep secrets out of them. The Web UI shows
 * plaintext through the codec endpoint of the API (`/codec`) when pointed at it.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly keys: Keyring;

  constructor(keys: string | Keyring) {
    this.keys = Keyring.of(keys);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.current;
    return payloads.map((payload) => ({
      metadata: { encoding: te.encode(ENCODING), 'encryption-key-id': te.encode(key.id), 'encryption-scheme': te.encode(SCHEME) },
      data: new Uint8Array(seal(key.sub('temporal-payloads'), temporal.api.common.v1.Payload.encode(payload).finish())),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (!payload.metadata || td.decode(payload.metadata.encoding) !== ENCODING) return payload;
      const id = payload.metadata['encryption-key-id'] ? td.decode(payload.metadata['encryption-key-id']) : this.keys.current.id;
      const key = this.keys.key(id);
      if (!key) throw this.keys.unknownKey(id);
      const derived = payload.metadata['encryption-scheme'] && td.decode(payload.metadata['encryption-scheme']) === SCHEME;
      return temporal.api.common.v1.Payload.decode(open(derived ? key.sub('temporal-payloads') : key.raw, payload.data ?? new Uint8Array())) as Payload;
    });
  }
}

/**
 * The data converter of the client, the worker and replays: payloads encrypted,
 * and failure messages and stack traces moved into an encrypted payload too
 * (`encodeCommonAttributes`), so no error text sits in a history in clear.
 */
export function dataConverter(keys: string | Keyring) {
  return { payloadCodecs: [new AesGcmPayloadCodec(keys)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** For `bundleWorkflowCode` (the workflow sandbox converts failures too). */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');
