import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import getRawBody from 'raw-body';
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
import { errorBody, HttpError, internalError, notFound, validationError } from '../errors';
import { logAnswer } from '../request-log';
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

/** 64 KiB, as Express's `64kb` was: a callback is a few hundred bytes. */
const WEBHOOK_BODY_LIMIT = 64 * 1024;
const SIGNAL_DEADLINE_MS = 5_000;
/** Signals of one merchant on their way to Temporal at once: a slow signal does not hold back the next events (README, Performance). */
const SIGNALS_IN_FLIGHT = 4;

/** The event the merchant workflow acts on, or null for a scope it does not act on. */
function toEvent(body: WebhookBody): WebhookEvent | null | { error: string } {
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

const SECRET_HEADER = WEBHOOK_SECRET_HEADER.toLowerCase();

/** `loyalty_webhooks_total`'s outcome for an answer's status, unless the route named another. */
const OUTCOMES: Record<number, string> = { 200: 'accepted', 400: 'malformed', 401: 'unauthorized', 404: 'unknown_merchant', 413: 'too_large', 415: 'malformed', 503: 'unavailable' };

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

/** Why a callback does not authenticate against `auth`, or null when it does. */
function authFailure(headers: IncomingHttpHeaders, raw: Buffer, auth: WebhookAuth): HttpError | null {
  if (!secretEquals(header(headers, SECRET_HEADER), auth.webhookSecret)) {
    return new HttpError(401, 'unauthorized', `the ${WEBHOOK_SECRET_HEADER} header is missing or wrong`);
  }
  const signature = header(headers, 'webhook-signature');
  if (auth.clientSecret && signature) {
    try {
      new Webhook(Buffer.from(auth.clientSecret).toString('base64')).verify(raw.toString('utf8'), {
        'webhook-id': header(headers, 'webhook-id') ?? '',
        'webhook-timestamp': header(headers, 'webhook-timestamp') ?? '',
        'webhook-signature': signature,
      });
    } catch (err) {
      return new HttpError(401, 'bad_signature', `the Standard Webhooks signature does not verify: ${(err as Error).message}`);
    }
  }
  return null;
}

/** The exact bytes of the body (signatures are over them), at most WEBHOOK_BODY_LIMIT. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const encoding = (header(req.headers, 'content-encoding') ?? 'identity').toLowerCase();
  if (encoding !== 'identity') throw new HttpError(415, 'unsupported_encoding', `the body's Content-Encoding "${encoding}" is not accepted; send it as it is`);
  try {
    return await getRawBody(req, { length: header(req.headers, 'content-length') ?? null, limit: WEBHOOK_BODY_LIMIT });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw new HttpError(413, 'payload_too_large', `the body is larger than ${WEBHOOK_BODY_LIMIT} bytes`);
    if (type === 'request.aborted' || type === 'request.size.invalid') throw new HttpError(400, 'bad_request', (err as Error).message);
    throw err;
  }
}

/** The route's path, the merchant id its only parameter; a trailing slash, a query and any case allowed, as Express's routes allow them. */
const ROUTE = /^\/webhooks\/bigcommerce\/([^/?#]*)\/?(?:[?#].*)?$/i;

/**
 * POST /webhooks/bigcommerce/{merchantId}: authenticate, parse, hand to the
 * merchant workflow as one signal, answer 200. The signal is durable once
 * Temporal accepts it, so the answer waits for that and nothing else.
 *
 * This one route is answered before Express sees the request (the returned
 * listener says whether it took it; every other request, this path's other
 * methods included, goes on to Express). It is the one route that must
 * answer hundreds of times a second on a shared core, and Express's router,
 * request and response objects were a third of what a webhook allocated
 * (63.7 KB a webhook with them, 38.9 KB without), which the garbage
 * collector's pauses put into the tail of every answer (docs/performance.md,
 * thirty-third session: a quarter fewer pauses, more webhooks a second). It gives
 * the answers the rest of the API gives: the same error bodies, the `http`
 * log line, and `loyalty_webhooks_total{scope,outcome}` once the answer has gone.
 */
export function bigCommerceWebhooks({ client, webhookAuth, logger }: { client: Client; webhookAuth: WebhookAuthCache; logger: Logger }): (req: IncomingMessage, res: ServerResponse) => boolean {
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

  /** What the webhook's answer is, with what `loyalty_webhooks_total` counts beyond its status. */
  async function accept(req: IncomingMessage, res: ServerResponse, rawId: string, counted: { scope: string; outcome?: string }): Promise<object> {
    const raw = await readBody(req);
    let decoded: string | undefined;
    try {
      decoded = decodeURIComponent(rawId);
    } catch {
      decoded = undefined;
    }
    const id = MerchantIdParam.safeParse(decoded);
    if (!id.success) throw notFound('no such merchant');
    const merchantId = id.data;
    const notInstalled = () => notFound(`merchant ${merchantId} is not installed`);
    let merchant = await webhookAuth.get(merchantId);
    if (!merchant) throw notInstalled();
    let failure = authFailure(req.headers, raw, merchant);
    if (failure) {
      // The cached record may predate a re-install: the store has the last word before a refusal.
      merchant = await webhookAuth.get(merchantId, true);
      if (!merchant) throw notInstalled();
      failure = authFailure(req.headers, raw, merchant);
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
    counted.scope = body.data.scope;
    const event = toEvent(body.data);
    if (event === null) {
      counted.outcome = 'ignored';
      return { status: 'ignored', scope: body.data.scope };
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
    return { status: 'accepted' };
  }

  return (req, res) => {
    if (req.method !== 'POST') return false;
    const route = ROUTE.exec(req.url ?? '');
    if (!route) return false;
    const started = process.hrtime.bigint();
    const path = () => (req.url ?? '').split('?', 1)[0]!;
    const counted: { scope: string; outcome?: string } = { scope: 'unknown' };
    res.once('finish', () => {
      logAnswer(logger, 'POST', path(), res.statusCode, started);
      metrics.webhooks.inc({ scope: counted.scope, outcome: counted.outcome ?? OUTCOMES[res.statusCode] ?? `http_${res.statusCode}` });
    });
    accept(req, res, route[1]!, counted).then(
      (answer) => sendJson(res, 200, answer),
      (err: unknown) => {
        const e = err instanceof HttpError ? err : internalError(logger, err, 'POST', path());
        // Whatever of the body is still coming is read and dropped, so the connection can serve the next request.
        if (!req.complete) req.resume();
        sendJson(res, e.status, errorBody(e));
      },
    );
    return true;
  };
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
