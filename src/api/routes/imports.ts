import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config';
import type { Store } from '../../store';
import { MerchantIdKey, StoreHashKey } from '../../temporal/search-attribute-keys';
import { importWorkflow } from '../../workflows/import';
import { importWorkflowId } from '../../workflows/messages';
import { HttpError, notFound, validationError } from '../errors';
import { installedMerchant } from './merchants';

export const ImportBody = z.strictObject({
  since: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z' })
    .refine((s) => Date.parse(s) < Date.now(), 'must be in the past'),
});
export const ImportIdParam = z.string().regex(/^imp_[a-f0-9]{16}$/, 'is not an import id');

/** Historical imports (CONTRACT §3): credit every order placed since a date, as if its `created` webhook had arrived. */
export function importsRouter({ config, client, store }: { config: Config; client: Client; store: Store }): Router {
  const router = Router();

  const merchantOf = (raw: string | undefined) => installedMerchant(store, raw);

  router.post('/api/merchants/:merchantId/bigcommerce/imports', async (req, res) => {
    const merchant = await merchantOf(req.params.merchantId);
    const body = ImportBody.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    if (merchant.status !== 'active') {
      throw new HttpError(409, 'merchant_not_active', `merchant ${merchant.merchantId} is ${merchant.status}: an import needs an active install`);
    }
    const { merchantId, storeHash } = merchant;
    const importId = `imp_${randomBytes(8).toString('hex')}`;
    const since = new Date(body.data.since);
    await store.imports.create(merchantId, importId, since);
    const workflowId = importWorkflowId(merchantId, importId);
    await client.workflow.start(importWorkflow, {
      workflowId,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [{ merchantId, importId, since: since.getTime(), storeHash }],
      typedSearchAttributes: [
        { key: MerchantIdKey, value: merchantId },
        { key: StoreHashKey, value: storeHash },
      ],
      staticSummary: `import of the orders of ${merchantId} since ${since.toISOString()}`,
    });
    res.status(202).json({ importId, workflowId, status: 'running' });
  });

  router.get('/api/merchants/:merchantId/bigcommerce/imports/:importId', async (req, res) => {
    const merchant = await merchantOf(req.params.merchantId);
    const importId = ImportIdParam.safeParse(req.params.importId);
    const found = importId.success ? await store.imports.get(merchant.merchantId, importId.data) : null;
    if (!found) throw notFound(`no import ${req.params.importId} for merchant ${merchant.merchantId}`);
    res.json(found);
  });

  return router;
}
