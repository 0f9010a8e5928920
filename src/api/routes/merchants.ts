import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import { parseApiPath, parseCredentialsFile } from '../../bigcommerce/credentials';
import type { Config } from '../../config';
import { normalizeRate } from '../../ledger/points';
import { type InstallRequest, StoreMismatchError } from '../../merchants/repository';
import type { Store } from '../../store';
import { MerchantIdKey, StoreHashKey } from '../../temporal/search-attribute-keys';
import { merchantWorkflow } from '../../workflows/merchant';
import { installRequestedSignal, merchantWorkflowId, uninstallRequestedSignal } from '../../workflows/messages';
import { HttpError, notFound, validationError } from '../errors';
import type { WebhookAuthCache } from '../webhook-auth';

export const MerchantIdParam = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must match ^[A-Za-z0-9_-]{1,64}$');

/** The merchant a route names: 400 for a malformed id, 404 for one never installed. */
export async function installedMerchant(store: Store, raw: string | undefined) {
  const id = MerchantIdParam.safeParse(raw);
  if (!id.success) throw new HttpError(400, 'validation_failed', 'bad merchantId', { merchantId: id.error.issues[0]?.message });
  const merchant = await store.merchants.get(id.data);
  if (!merchant) throw notFound(`merchant ${id.data} has never installed the BigCommerce integration`);
  return merchant;
}

const token = z.string().trim().min(1, 'is required').max(512).regex(/^\S+$/, 'must not contain spaces');
const rate = z
  .number({ error: 'must be a number' })
  .positive('must be greater than 0')
  .max(1000, 'must be at most 1000')
  .refine((n) => Math.abs(n * 10_000 - Math.round(n * 10_000)) < 1e-6, 'at most 4 decimals')
  .default(1);

export const InstallFields = z.strictObject({
  apiPath: z.string({ error: 'is required' }).trim().min(1, 'is required').max(512),
  accessToken: token,
  clientId: token,
  clientSecret: token.optional(),
  name: z.string().trim().max(200).optional(),
  pointsPerCurrencyUnit: rate,
});

export const InstallFile = z.strictObject({
  credentialsFile: z.string().min(1, 'is empty').max(20_000),
  name: z.string().trim().max(200).optional(),
  pointsPerCurrencyUnit: rate,
});

/** The body is either the fields, or the downloaded credentials file pasted whole. */
function parseInstallBody(body: unknown, apiOrigin: string) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'validation_failed', 'the body must be a JSON object');
  let fields: unknown = body;
  if ('credentialsFile' in body) {
    const file = InstallFile.safeParse(body);
    if (!file.success) throw validationError(file.error);
    const parsed = parseCredentialsFile(file.data.credentialsFile);
    fields = { ...parsed, name: file.data.name ?? parsed.name, pointsPerCurrencyUnit: file.data.pointsPerCurrencyUnit };
  }
  const r = InstallFields.safeParse(fields);
  if (!r.success) throw validationError(r.error, 'credentialsFile' in body ? 'the credentials file lacks fields or has bad ones' : undefined);
  const api = parseApiPath(r.data.apiPath, apiOrigin);
  if ('error' in api) throw new HttpError(400, 'validation_failed', 'the API PATH is not acceptable', { apiPath: api.error });
  return { ...r.data, ...api };
}

export function merchantsRouter({ config, client, store, webhookAuth }: { config: Config; client: Client; store: Store; webhookAuth: WebhookAuthCache }): Router {
  const router = Router();

  function merchantIdOf(raw: string | undefined): string {
    const r = MerchantIdParam.safeParse(raw);
    if (!r.success) throw new HttpError(400, 'validation_failed', 'bad merchantId', { merchantId: r.error.issues[0]?.message });
    return r.data;
  }

  /** A merchant id is bound to its first store: another store hash is 409 and writes nothing. */
  async function saveInstall(install: InstallRequest) {
    try {
      return await store.merchants.saveInstall(install);
    } catch (err) {
      if (err instanceof StoreMismatchError) {
        throw new HttpError(409, 'store_mismatch', err.message, { storeHash: err.boundStoreHash, requestedStoreHash: err.requestedStoreHash });
      }
      throw err;
    }
  }

  router.put('/api/merchants/:merchantId/bigcommerce', async (req, res) => {
    const merchantId = merchantIdOf(req.params.merchantId);
    const install = parseInstallBody(req.body, config.BIGCOMMERCE_API_ORIGIN);
    const saved = await saveInstall({
      merchantId,
      storeHash: install.storeHash,
      apiBase: install.apiBase,
      clientId: install.clientId,
      name: install.name ?? null,
      accessToken: install.accessToken,
      clientSecret: install.clientSecret ?? null,
      pointsPerCurrencyUnit: normalizeRate(install.pointsPerCurrencyUnit),
    });
    webhookAuth.forget(merchantId);
    const workflowId = merchantWorkflowId(merchantId);
    // Starts the merchant's workflow, or signals the running one: never a second.
    const handle = await client.workflow.signalWithStart(merchantWorkflow, {
      workflowId,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowTaskTimeout: config.MERCHANT_TASK_TIMEOUT * 1000,
      // installedAt is provisional until the first activation; the workflow learns the recorded one then.
      args: [
        {
          merchantId,
          storeHash: saved.storeHash,
          installedAt: saved.installedAt?.getTime() ?? Date.now(),
          historyLimit: config.MERCHANT_HISTORY_LIMIT,
          reconcileIntervalSeconds: config.RECONCILE_INTERVAL,
          taskTimeoutSeconds: config.MERCHANT_TASK_TIMEOUT,
        },
      ],
      signal: installRequestedSignal,
      signalArgs: [{ generation: saved.installGeneration, storeHash: saved.storeHash }],
      typedSearchAttributes: [
        { key: MerchantIdKey, value: merchantId },
        { key: StoreHashKey, value: saved.storeHash },
      ],
      staticSummary: `BigCommerce store ${saved.storeHash} of merchant ${merchantId}`,
    });
    res.status(202).json({ merchantId, storeHash: saved.storeHash, status: 'installing', workflowId, runId: handle.signaledRunId });
  });

  router.get('/api/merchants/:merchantId/bigcommerce', async (req, res) => {
    const merchant = await installedMerchant(store, req.params.merchantId);
    const { merchantId } = merchant;
    res.json({
      merchantId,
      storeHash: merchant.storeHash,
      status: merchant.status,
      missingScopes: merchant.missingScopes,
      webhooks: merchant.webhooks,
      installedAt: merchant.installedAt?.toISOString() ?? null,
      pointsPerCurrencyUnit: Number(merchant.pointsPerCurrencyUnit),
      stats: await store.ledger.stats(merchantId),
      lastError: merchant.lastError,
      reconciliation: {
        lastRunAt: merchant.reconciliation?.lastRunAt?.toISOString() ?? null,
        ordersRecovered: merchant.reconciliation?.ordersRecovered ?? 0,
        refundsRecovered: merchant.reconciliation?.refundsRecovered ?? 0,
        webhooksRepaired: merchant.reconciliation?.webhooksRepaired ?? 0,
      },
      workflowId: merchantWorkflowId(merchantId),
    });
  });

  router.delete('/api/merchants/:merchantId/bigcommerce', async (req, res) => {
    const merchant = await installedMerchant(store, req.params.merchantId);
    const { merchantId } = merchant;
    const workflowId = merchantWorkflowId(merchantId);
    if (merchant.status !== 'uninstalled') {
      try {
        // The generation read here: a re-install saved before it is superseded, one saved after it wins.
        await client.workflow.getHandle(workflowId).signal(uninstallRequestedSignal, { generation: merchant.installGeneration });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        // No workflow runs for it (terminated by hand?): record the uninstall ourselves.
        await store.merchants.markUninstalled(merchantId, 'uninstalled while no merchant workflow was running; webhooks were not deleted');
      }
    }
    res.status(202).json({ merchantId, workflowId, uninstallRequested: true });
  });

  return router;
}
