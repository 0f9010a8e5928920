import { Router } from 'express';
import express from 'express';
import type { Payload } from '@temporalio/common';
import { AesGcmPayloadCodec } from '../../temporal/codec';

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
 * engineers read decrypted payloads in the browser. Development only: in
 * production, run it behind the same authentication as the UI.
 */
export function codecRouter({ encryptionKey, uiOrigins }: { encryptionKey: string; uiOrigins: string[] }): Router {
  const codec = new AesGcmPayloadCodec(encryptionKey);
  const router = Router();
  router.use('/codec', (req, res, next) => {
    const origin = req.get('origin');
    if (origin && uiOrigins.includes(origin)) {
      res.set('Access-Control-Allow-Origin', origin);
      res.set('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.set('Access-Control-Allow-Headers', 'Content-Type, X-Namespace');
    }
    if (req.method === 'OPTIONS') return void res.sendStatus(204);
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
