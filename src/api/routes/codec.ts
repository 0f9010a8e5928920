import { Router } from 'express';
import express from 'express';
import type { Payload } from '@temporalio/common';
import type { Keyring } from '../../crypto';
import { AesGcmPayloadCodec } from '../../temporal/codec';
import { secretEquals } from '../auth';
import { HttpError } from '../errors';

interface JSONPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

const toPayload = (p: JSONPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: p.data ? Buffer.from(p.data, 'base64') : undefined,
});
const toJSON = (p: Payload): JSONPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: p.data ? Buffer.from(p.data).toString('base64') : null,
});

/**
 * Codec server for the Temporal Web UI (`--ui-codec-endpoint <api>/codec`), so
 * engineers read decrypted payloads in the browser. CORS admits only the UI's
 * origins. `bearerKey`: undefined leaves it open (development, the dev UI);
 * a key requires `Authorization: Bearer <key>` (the UI's "pass access token");
 * null refuses every caller (production without CODEC_API_KEY).
 */
export function codecRouter({ keys, uiOrigins, bearerKey }: { keys: Keyring; uiOrigins: string[]; bearerKey?: string | null }): Router {
  const codec = new AesGcmPayloadCodec(keys);
  const router = Router();
  router.use('/codec', (req, res, next) => {
    const origin = req.get('origin');
    if (origin && uiOrigins.includes(origin)) {
      res.set('Access-Control-Allow-Origin', origin);
      res.set('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.set('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.set('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') return void res.sendStatus(204);
    if (bearerKey !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
      if (bearerKey === null || !m || !secretEquals(m[1], bearerKey)) {
        const why = bearerKey === null ? 'the codec endpoint is closed: set CODEC_API_KEY to open it to the Temporal UI' : 'a valid "Authorization: Bearer <codec key>" header is required';
        return next(new HttpError(401, 'unauthorized', why));
      }
    }
    next();
  });
  for (const op of ['encode', 'decode'] as const) {
    router.post(`/codec/${op}`, express.json({ limit: '4mb' }), async (req, res) => {
      const payloads = ((req.body as { payloads?: JSONPayload[] }).payloads ?? []).map(toPayload);
      res.json({ payloads: (await codec[op](payloads)).map(toJSON) });
    });
  }
  return router;
}
