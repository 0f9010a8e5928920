import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { BigCommerceClient } from '../bigcommerce/client';
import type { Priority } from '../bigcommerce/rate-budget';
import { orderTransactionId, refundTransactionId } from '../ledger/ledger';
import { type Order } from '../bigcommerce/schemas';
import { REQUIRED_SCOPES, type Scope, WEBHOOK_SCOPES } from '../bigcommerce/scopes';
import { amountFromNumber, formatAmount, parseExchangeRate } from '../ledger/points';
import type { WebhookRef } from '../merchants/repository';
import type { Store } from '../store';
import { type ImportPage, orderWorkflowId, refundWorkflowId, type OrderSnapshot, type RefundSnapshot, SETTLED_ORDER_OUTCOMES, type SweepCursor, type SweepResult } from '../workflows/messages';
import { FailureType, mapFailures } from './failures';

/** The header BigCommerce sends back with every callback of a hook we registered. */
export const WEBHOOK_SECRET_HEADER = 'X-Loyalty-Webhook-Secret';

export interface BigCommerceDeps {
  store: Store;
  publicBaseUrl: string;
  rateLimitShare?: number;
  requestTimeoutMs?: number;
}

/** Pages of 250 one sweep activity reads at most per list before handing back: its result, and the child starts it brings into the merchant history, stay small. */
const SWEEP_PAGES = 2;
const PAGE_LIMIT = 250;

const webhookPath = (merchantId: string) => `/webhooks/bigcommerce/${encodeURIComponent(merchantId)}`;

export const webhookDestination = (publicBaseUrl: string, merchantId: string) => `${publicBaseUrl}${webhookPath(merchantId)}`;

/**
 * A hook is this merchant's when its destination is this merchant's webhook
 * route, at any base URL (PUBLIC_BASE_URL may have moved). Not "any hook with
 * our header": several merchant ids may share one API account (CONTRACT §3),
 * and the hooks listed are all of that account's.
 */
export function isMerchantHook(destination: string, merchantId: string): boolean {
  try {
    return new URL(destination).pathname.endsWith(webhookPath(merchantId));
  } catch {
    return false;
  }
}

/**
 * The merchant's client. A merchant whose credentials failed (status `failed`)
 * gets no call at all until it is installed again: the caller is told
 * `MerchantSuspended` instead, so no request leaves with a dead token.
 */
export function merchantConnector({ store, rateLimitShare, requestTimeoutMs }: Pick<BigCommerceDeps, 'store' | 'rateLimitShare' | 'requestTimeoutMs'>) {
  return async function connect(merchantId: string, priority: Priority = 'live', evenIfFailed = false) {
    const merchant = await store.merchants.secrets(merchantId);
    if (!merchant) throw ApplicationFailure.create({ type: FailureType.MerchantGone, message: `merchant ${merchantId} is not installed`, nonRetryable: true });
    if (merchant.state.status === 'failed' && !evenIfFailed) {
      throw ApplicationFailure.create({
        type: FailureType.MerchantSuspended,
        message: `merchant ${merchantId} is failed (${merchant.state.lastError ?? 'credentials'}): waiting for a re-install`,
        nonRetryable: true,
      });
    }
    const client = new BigCommerceClient({ apiBase: merchant.state.apiBase, accessToken: merchant.accessToken, timeoutMs: requestTimeoutMs, rateLimitShare, priority });
    return { client, merchant };
  };
}

export function createBigCommerceActivities(deps: BigCommerceDeps) {
  const { store, publicBaseUrl } = deps;
  const connect = merchantConnector(deps);

  /**
   * Makes sure exactly one active hook per scope points at this merchant's
   * webhook URL with the current secret header: reuses hooks that exist,
   * re-activates or re-keys them, re-creates deleted ones, deletes this
   * merchant's stale ones, never duplicates. Counts what it had to repair.
   */
  async function ensureWebhooks(merchantId: string): Promise<{ webhooks: WebhookRef[]; repaired: number }> {
    const { client, merchant } = await connect(merchantId);
    const destination = webhookDestination(publicBaseUrl, merchantId);
    const headers = { [WEBHOOK_SECRET_HEADER]: merchant.webhookSecret };
    const hooks = await client.listHooks();
    const webhooks: WebhookRef[] = [];
    let repaired = 0;
    for (const scope of WEBHOOK_SCOPES) {
      const [keep, ...extra] = hooks.filter((h) => h.scope === scope && h.destination === destination);
      for (const h of extra) await client.deleteHook(h.id);
      let hook = keep;
      if (!hook) {
        hook = await client.createHook({ scope, destination, headers });
        repaired++;
      } else if (!hook.is_active || headerValue(hook.headers, WEBHOOK_SECRET_HEADER) !== merchant.webhookSecret) {
        hook = await client.updateHook(hook.id, { is_active: true, headers });
        repaired++;
      }
      webhooks.push({ scope, id: hook.id, isActive: hook.is_active });
    }
    // This merchant's hooks at an old destination, e.g. after PUBLIC_BASE_URL moved. Hooks
    // of other merchant ids installed with the same API account are theirs: left alone.
    for (const h of hooks) {
      if (h.destination !== destination && isMerchantHook(h.destination, merchantId)) await client.deleteHook(h.id);
    }
    return { webhooks, repaired };
  }

  return {
    /** Probes each needed scope; answers the missing ones in the contract's words. */
    verifyScopes: mapFailures(async ({ merchantId }: { merchantId: string }): Promise<{ missingScopes: Scope[] }> => {
      const { client } = await connect(merchantId);
      const missingScopes: Scope[] = [];
      for (const scope of REQUIRED_SCOPES) if (!(await client.hasScope(scope))) missingScopes.push(scope);
      return { missingScopes };
    }),

    /** Registers (or repairs) the merchant's three webhooks at install. */
    registerWebhooks: mapFailures(async ({ merchantId }: { merchantId: string }): Promise<WebhookRef[]> => (await ensureWebhooks(merchantId)).webhooks),

    /** Deletes every hook this integration registered for the merchant (also while it is failed: a dead token just fails). */
    deleteWebhooks: mapFailures(async ({ merchantId }: { merchantId: string }): Promise<{ deleted: number }> => {
      const { client } = await connect(merchantId, 'live', true);
      const ours = (await client.listHooks()).filter((h) => isMerchantHook(h.destination, merchantId));
      for (const h of ours) await client.deleteHook(h.id);
      return { deleted: ours.length };
    }),

    /**
     * One step of a reconciliation (rule 8): reads up to a few pages of the
     * orders modified and the refunds created since the cursors, at background
     * priority, and answers only what the ledger lacks, so the merchant
     * workflow's history grows with what was missed, not with the store's
     * traffic. With `repairHooks`, also re-activates or re-creates the webhooks.
     */
    sweep: mapFailures(
      async (input: {
        merchantId: string;
        installedAt: number;
        orders: SweepCursor | null;
        refunds: SweepCursor | null;
        repairHooks: boolean;
      }): Promise<SweepResult & { hooks?: { webhooks: WebhookRef[]; repaired: number } }> => {
        const startedAt = Date.now();
        const { merchantId } = input;
        const { client } = await connect(merchantId, 'background');
        const hooks = input.repairHooks ? await ensureWebhooks(merchantId) : undefined;
        const result: SweepResult = { orders: [], refunds: [], ordersNext: null, refundsNext: null, startedAt };
        // date_created has whole seconds: an order in the install's own second counts as after it.
        const installSecond = Math.floor(input.installedAt / 1000) * 1000;

        for (let cursor = input.orders, pages = 0; cursor && pages < SWEEP_PAGES; pages++) {
          const page = await client.listOrders({ minDateModified: new Date(cursor.from), sort: 'date_modified:asc', page: cursor.page, limit: PAGE_LIMIT });
          heartbeat();
          const seen = new Set(cursor.seenAtFrom ?? []);
          const candidates = page.filter(
            (o) => !o.is_deleted && Date.parse(o.date_created) >= installSecond && !(seen.has(o.id) && Date.parse(o.date_modified ?? '') === cursor!.from),
          );
          const credited = await store.ledger.existing(candidates.map((o) => orderTransactionId(merchantId, o.id)));
          const uncredited = candidates.filter((o) => !credited.has(orderTransactionId(merchantId, o.id)));
          const states = await workflowStates(uncredited.map((o) => orderWorkflowId(merchantId, o.id)));
          uncredited.forEach((o, i) => {
            if (states[i] === 'none' || states[i] === 'ended') result.orders.push({ orderId: o.id, statusId: o.status_id });
            else if (states[i] === 'waiting') result.orders.push({ orderId: o.id, statusId: o.status_id, running: true });
          });
          cursor = page.length < PAGE_LIMIT ? null : nextOrdersCursor(cursor, page);
          result.ordersNext = cursor;
        }
        for (let cursor = input.refunds, pages = 0; cursor && pages < SWEEP_PAGES; pages++) {
          const { refunds, totalPages } = await client.listRefunds({ createdMin: new Date(cursor.from), page: cursor.page, limit: PAGE_LIMIT });
          heartbeat();
          const deducted = await store.ledger.existing(refunds.map((r) => refundTransactionId(merchantId, r.id)));
          const undeducted = refunds.filter((r) => !deducted.has(refundTransactionId(merchantId, r.id)));
          const states = await workflowStates(undeducted.map((r) => refundWorkflowId(merchantId, r.id)));
          undeducted.forEach((r, i) => {
            if (states[i] === 'none' || states[i] === 'ended') result.refunds.push({ refundId: r.id, orderId: r.order_id });
          });
          cursor = cursor.page < totalPages ? { from: cursor.from, page: cursor.page + 1 } : null;
          result.refundsNext = cursor;
        }
        return hooks ? { ...result, hooks } : result;
      },
    ),

    /**
     * One page of a historical import: the orders created since `since`, by
     * id (a stable order: new orders land on later pages), at background
     * priority. Answers every order's id and status, and which the ledger
     * has already credited.
     */
    importPage: mapFailures(
      async ({ merchantId, since, page }: { merchantId: string; since: number; page: number }): Promise<ImportPage> => {
        const { client } = await connect(merchantId, 'background');
        const orders = await client.listOrders({ minDateCreated: new Date(since), sort: 'id:asc', page, limit: PAGE_LIMIT });
        const credited = await store.ledger.existing(orders.map((o) => orderTransactionId(merchantId, o.id)));
        return {
          orders: orders.filter((o) => !o.is_deleted).map((o) => ({ orderId: o.id, statusId: o.status_id, credited: credited.has(orderTransactionId(merchantId, o.id)) })),
          more: orders.length === PAGE_LIMIT,
        };
      },
    ),

    /** The order as the rules need it, or null when BigCommerce does not know it. */
    fetchOrder: mapFailures(async ({ merchantId, orderId }: { merchantId: string; orderId: number }): Promise<OrderSnapshot | null> => {
      const { client } = await connect(merchantId);
      const order = await client.getOrder(orderId);
      return order ? snapshot(order) : null;
    }),

    /**
     * The order's refunds in id order. The refund that woke us must be among
     * them; if BigCommerce does not list it yet, fail and retry.
     */
    fetchRefunds: mapFailures(
      async ({ merchantId, orderId, refundId }: { merchantId: string; orderId: number; refundId: number }): Promise<RefundSnapshot[]> => {
        const { client } = await connect(merchantId);
        const refunds = await client.listOrderRefunds(orderId);
        if (!refunds.some((r) => r.id === refundId)) {
          throw ApplicationFailure.create({ type: 'RefundNotListed', message: `refund ${refundId} is not listed on order ${orderId} yet` });
        }
        return refunds.map((r) => ({ id: r.id, orderId: r.order_id, amount: formatAmount(amountFromNumber(r.total_amount)) }));
      },
    ),
  };
}

/**
 * Orders are paged by date_modified, which moves when an order changes: the
 * next page continues from the last date seen (page 1 again), so an order
 * modified while we page moves ahead of us rather than out of reach. Only when
 * a whole page shares one second does it turn the page.
 */
function nextOrdersCursor(cursor: SweepCursor, page: Order[]): SweepCursor {
  const modified = (o: Order) => Date.parse(o.date_modified ?? '');
  const last = modified(page[page.length - 1]!);
  if (!Number.isFinite(last) || last <= cursor.from) {
    const seenAtFrom = [...(cursor.seenAtFrom ?? []), ...page.filter((o) => modified(o) === cursor.from).map((o) => o.id)];
    return { from: cursor.from, page: cursor.page + 1, seenAtFrom };
  }
  return { from: last, page: 1, seenAtFrom: page.filter((o) => modified(o) === last).map((o) => o.id) };
}

/** Outcomes a second look would not change: written, or nothing to write whatever happens (rule 1's zero points, no email). */
const FINAL_OUTCOMES: readonly string[] = [...SETTLED_ORDER_OUTCOMES, 'deducted', 'already_deducted'];

type WorkflowState = 'none' | 'waiting' | 'busy' | 'done' | 'ended';

/**
 * Where the workflows of what the ledger lacks stand, 16 at a time: `none`
 * (never started: a lost webhook), `waiting` (running, with no workflow task or
 * activity pending: blocked on a timer or a signal, such as an Incomplete order
 * waiting for its status), `busy` (running, with a task or activity pending: it
 * is about to act, and an order fetches itself what the sweep would tell it),
 * `done` (it wrote its transaction after the ledger was read), or `ended` without
 * one (not found, still incomplete, failed: to be looked at again, rule 7). Only
 * `none` and `ended` are started by a sweep; an order is woken only `waiting`.
 *
 * A busy order is left alone because a signal that reaches a workflow while its
 * task is running fails that task when it completes the run (the server answers
 * an unhandled command), and the next task runs its local activities again: a
 * second fetch from BigCommerce and a second credit attempt for an order the
 * first task had already credited. In a sweep of a backlog that was one order in
 * eight. An order whose task had fetched an Incomplete status just before it
 * changed is woken by the next sweep, or by its own re-check, whichever is first.
 */
async function workflowStates(workflowIds: string[]): Promise<WorkflowState[]> {
  const client = Context.current().client;
  const states: WorkflowState[] = [];
  for (let i = 0; i < workflowIds.length; i += 16) {
    states.push(
      ...(await Promise.all(
        workflowIds.slice(i, i + 16).map(async (id) => {
          const handle = client.workflow.getHandle(id);
          try {
            const { status, raw } = await handle.describe();
            if (status.name === 'RUNNING') return raw.pendingWorkflowTask || (raw.pendingActivities?.length ?? 0) > 0 ? ('busy' as const) : ('waiting' as const);
            if (status.name !== 'COMPLETED') return 'ended' as const;
            const { outcome } = (await handle.result()) as { outcome: string };
            return FINAL_OUTCOMES.includes(outcome) ? ('done' as const) : ('ended' as const);
          } catch (err) {
            if (err instanceof WorkflowNotFoundError) return 'none' as const;
            throw err;
          }
        }),
      )),
    );
  }
  return states;
}

function heartbeat(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // not in an activity (direct calls in tests)
  }
}

function headerValue(headers: Record<string, string> | null | undefined, name: string): string | undefined {
  const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers![key];
}

/** RFC 2822 dates ("Wed, 10 Jan 2018 21:05:30 +0000") parse with Date. */
export function snapshot(order: Order): OrderSnapshot {
  const bad = (what: string) => ApplicationFailure.create({ type: FailureType.BadResponse, message: `order ${order.id}: ${what}`, nonRetryable: true });
  const placedAt = Date.parse(order.date_created);
  if (Number.isNaN(placedAt)) throw bad('bad date_created');
  return {
    orderId: order.id,
    statusId: order.status_id,
    totalIncTax: order.total_inc_tax,
    ...currencyOf(order, bad),
    email: order.billing_address.email ?? null,
    customerId: order.customer_id === 0 ? null : order.customer_id,
    placedAt,
  };
}

/**
 * The currency the money fields are in (`default_currency_code`, "transactional"),
 * and on a multi-currency store whose default currency differs, what converts it.
 */
function currencyOf(order: Order, bad: (what: string) => Error): Pick<OrderSnapshot, 'currency' | 'defaultCurrency' | 'exchangeRate'> {
  const currency = order.default_currency_code ?? order.currency_code;
  const storeDefault = order.store_default_currency_code;
  const rate = order.store_default_to_transactional_exchange_rate;
  if (!storeDefault || !rate || storeDefault === currency) return { currency };
  try {
    parseExchangeRate(rate);
  } catch {
    throw bad(`bad store_default_to_transactional_exchange_rate ${JSON.stringify(rate)}`);
  }
  return { currency, defaultCurrency: storeDefault, exchangeRate: rate };
}
