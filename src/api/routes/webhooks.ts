import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import express, { type Request, type RequestHandler, Router } from 'express';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { WEBHOOK_SECRET_HEADER } from '../../activities/bigcommerce';
import type { Logger } from '../../logger';
import { metrics } from '../../observability/metrics';
import { merchantWorkflowId, type WebhookEvent, webhookEventsSignal } from '../../workflows/messages';
import { SignalBatcher } from '../signal-batcher';
import type { WebhookAuth, WebhookAuthCache } from '../webhook-auth';
import { ingestGauge } from '../../worker/ingest-first';
import { secretEquals } from '../auth';
import { HttpError, notFound, validationError } from '../errors';
import { MerchantIdParam } from './merchants';

/** Callback bodies carry ids only (BIGCOMMERCE.md). */
const orderId = z.number().int().positive();
export const WebhookBody = z.looseObject({
  scope: z.string().min(1),
  store_id: z.union([z.string(), z.number()]).optional(),
  hash: z.string().min(1).max(200),
  created_at: z.number().int().optional(),
  producer: z.string().optional(),
  data: z.looseObject({
    type: z.string().optional(),
    id: z.number().int(),
    refund: z.looseObject({ refund_id: z.number().int().positive() }).optional(),
    status: z.looseObject({ previous_status_id: z.number().int().min(0), new_status_id: z.number().int().min(0) }).optional(),
  }),
});
type WebhookBody = z.infer<typeof WebhookBody>;

export const WEBHOOK_BODY_LIMIT = '64kb';
const SIGNAL_DEADLINE_MS = 5_000;
/** Signals of one merchant on their way to Temporal at once: a slow signal does not hold back the next events (README, Performance). */
const SIGNALS_IN_FLIGHT = 4;

/** The event the merchant workflow acts on, or null for a scope it does not act on. */
export function toEvent(body: WebhookBody): WebhookEvent | null | { error: string } {
  const id = orderId.safeParse(body.data.id);
  const acted = ['store/order/created', 'store/order/refund/created', 'store/order/statusUpdated'];
  if (!acted.includes(body.scope)) return null;
  if (!id.success) return { error: 'data.id must be a positive order id' };
  switch (body.scope) {
    case 'store/order/created':
      return { scope: body.scope, hash: body.hash, orderId: id.data };
    case 'store/order/refund/created':
      if (!body.data.refund) return { error: 'data.refund.refund_id is required for store/order/refund/created' };
      return { scope: body.scope, hash: body.hash, orderId: id.data, refundId: body.data.refund.refund_id };
    default:
      if (!body.data.status) return { error: 'data.status is required for store/order/statusUpdated' };
      return {
        scope: 'store/order/statusUpdated',
        hash: body.hash,
        orderId: id.data,
        previousStatusId: body.data.status.previous_status_id,
        newStatusId: body.data.status.new_status_id,
      };
  }
}

/** `loyalty_webhooks_total{scope, outcome}`, counted when the answer has gone. */
const countWebhooks: RequestHandler = (_req, res, next) => {
  res.on('finish', () => {
    const outcomes: Record<number, string> = { 200: 'accepted', 400: 'malformed', 401: 'unauthorized', 404: 'unknown_merchant', 413: 'too_large', 503: 'unavailable' };
    const outcome = (res.locals.outcome as string | undefined) ?? outcomes[res.statusCode] ?? `http_${res.statusCode}`;
    metrics.webhooks.inc({ scope: (res.locals.scope as string | undefined) ?? 'unknown', outcome });
  });
  next();
};

/** Why a callback does not authenticate against `auth`, or null when it does. */
function authFailure(req: Request, raw: Buffer, auth: WebhookAuth): HttpError | null {
  if (!secretEquals(req.get(WEBHOOK_SECRET_HEADER), auth.webhookSecret)) {
    return new HttpError(401, 'unauthorized', `the ${WEBHOOK_SECRET_HEADER} header is missing or wrong`);
  }
  if (auth.clientSecret && req.get('webhook-signature')) {
    try {
      new Webhook(Buffer.from(auth.clientSecret).toString('base64')).verify(raw.toString('utf8'), {
        'webhook-id': req.get('webhook-id') ?? '',
        'webhook-timestamp': req.get('webhook-timestamp') ?? '',
        'webhook-signature': req.get('webhook-signature') ?? '',
      });
    } catch (err) {
      return new HttpError(401, 'bad_signature', `the Standard Webhooks signature does not verify: ${(err as Error).message}`);
    }
  }
  return null;
}

/**
 * POST /webhooks/bigcommerce/{merchantId}: authenticate, parse, hand to the
 * merchant workflow as one signal, answer 200. The signal is durable once
 * Temporal accepts it, so the answer waits for that and nothing else.
 */
export function webhooksRouter({ client, webhookAuth, logger }: { client: Client; webhookAuth: WebhookAuthCache; logger: Logger }): Router {
  const router = Router();
  // Bounded: BigCommerce wants an answer at once; if Temporal cannot take the
  // signal in time, a 503 makes BigCommerce deliver the event again later.
  const batcher = new SignalBatcher<WebhookEvent>(
    async (merchantId, events) => {
      metrics.webhookSignalEvents.observe(events.length);
      const signalled = metrics.webhookSignal.startTimer();
      await client.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () => {
        const hint = ingestGauge.hint();
        return client.workflow.getHandle(merchantWorkflowId(merchantId)).signal(webhookEventsSignal, events, ...(hint ? [hint] : []));
      });
      signalled();
    },
    { lingerMs: 5, busyWithinMs: 50, maxInFlight: SIGNALS_IN_FLIGHT },
  );
  router.post('/webhooks/bigcommerce/:merchantId', countWebhooks, express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT }), async (req, res) => {
    const id = MerchantIdParam.safeParse(req.params.merchantId);
    if (!id.success) throw notFound('no such merchant');
    const merchantId = id.data;
    const notInstalled = () => notFound(`merchant ${merchantId} is not installed`);
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let merchant = await webhookAuth.get(merchantId);
    if (!merchant) throw notInstalled();
    let failure = authFailure(req, raw, merchant);
    if (failure) {
      // The cached record may predate a re-install: the store has the last word before a refusal.
      merchant = await webhookAuth.get(merchantId, true);
      if (!merchant) throw notInstalled();
      failure = authFailure(req, raw, merchant);
      if (failure) throw failure;
    }
    res.once('close', ingestGauge.enter());

    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, 'malformed_json', 'the body is not valid JSON');
    }
    const body = WebhookBody.safeParse(json);
    if (!body.success) throw validationError(body.error, 'the body is not a BigCommerce webhook');
    if (body.data.producer && body.data.producer !== `stores/${merchant.storeHash}`) {
      throw new HttpError(400, 'wrong_store', `this webhook is from ${body.data.producer}, not stores/${merchant.storeHash}`);
    }
    res.locals.scope = body.data.scope;
    const event = toEvent(body.data);
    if (event === null) {
      res.locals.outcome = 'ignored';
      res.json({ status: 'ignored', scope: body.data.scope });
      return;
    }
    if ('error' in event) throw new HttpError(400, 'validation_failed', event.error);

    try {
      const handedOff = metrics.webhookHandoff.startTimer();
      await batcher.submit(merchantId, event);
      handedOff();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // Uninstalled since it was cached (its workflow ended): 404 as for any uninstalled merchant.
        if (!(await webhookAuth.get(merchantId, true))) throw notInstalled();
        logger.error({ merchantId, scope: event.scope }, 'webhook for an installed merchant whose workflow is not running');
        throw new HttpError(503, 'not_running', 'the merchant workflow is not running; BigCommerce will retry');
      }
      logger.error({ err, merchantId, scope: event.scope }, 'could not hand the webhook to Temporal');
      throw new HttpError(503, 'temporal_unavailable', 'the event could not be recorded now; BigCommerce will retry');
    }
    logger.debug({ merchantId, scope: event.scope, orderId: event.orderId, hash: event.hash }, 'webhook accepted');
    res.json({ status: 'accepted' });
  });
  return router;
}
