import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * Names, ids and shapes shared by the workflows, the API that signals them and
 * the activities: one source of truth. Nothing here may carry a secret: every
 * value ends up in a workflow history (encrypted, but still).
 */
export const merchantWorkflowId = (merchantId: string) => `bigcommerce-merchant:${merchantId}`;
export const orderWorkflowId = (merchantId: string, orderId: number) => `bigcommerce-order:${merchantId}:${orderId}`;
export const refundWorkflowId = (merchantId: string, refundId: number) => `bigcommerce-refund:${merchantId}:${refundId}`;
export const importWorkflowId = (merchantId: string, importId: string) => `bigcommerce-import:${merchantId}:${importId}`;

export type MerchantStatus = 'installing' | 'active' | 'failed' | 'uninstalled';

/** A BigCommerce callback reduced to what the workflows act on (ids only, as BigCommerce sends). */
export type WebhookEvent =
  | { scope: 'store/order/created'; hash: string; orderId: number }
  | { scope: 'store/order/refund/created'; hash: string; orderId: number; refundId: number }
  | { scope: 'store/order/statusUpdated'; hash: string; orderId: number; previousStatusId: number; newStatusId: number };

/**
 * Events carried across continue-as-new, packed: `[0, orderId]` created,
 * `[1, orderId, refundId]` refund, `[2, orderId, previousStatusId, newStatusId]`
 * status change. About 10 bytes an event instead of about 75, so a flood's
 * backlog stays far below Temporal's 2 MB payload limit (12,000 events: 690 KB
 * unpacked). The hash is not carried: nothing after the API reads it.
 */
export type PackedEvent = [0, number] | [1, number, number] | [2, number, number, number];

export function packEvents(events: readonly WebhookEvent[]): PackedEvent[] {
  return events.map((e): PackedEvent => {
    switch (e.scope) {
      case 'store/order/created':
        return [0, e.orderId];
      case 'store/order/refund/created':
        return [1, e.orderId, e.refundId];
      default:
        return [2, e.orderId, e.previousStatusId, e.newStatusId];
    }
  });
}

export function unpackEvents(packed: readonly PackedEvent[]): WebhookEvent[] {
  return packed.map((p): WebhookEvent => {
    switch (p[0]) {
      case 0:
        return { scope: 'store/order/created', hash: 'carried', orderId: p[1] };
      case 1:
        return { scope: 'store/order/refund/created', hash: 'carried', orderId: p[1], refundId: p[2] };
      default:
        return { scope: 'store/order/statusUpdated', hash: 'carried', orderId: p[1], previousStatusId: p[2], newStatusId: p[3] };
    }
  });
}

export interface InstallRequested {
  /** The merchant record's install generation this request wrote; status writes are fenced by it. */
  generation: number;
  storeHash: string;
}

export interface MerchantCounters {
  eventsReceived: number;
  ordersStarted: number;
  refundsStarted: number;
  duplicateEvents: number;
  statusUpdates: number;
  runs: number;
}

export interface MerchantWorkflowState {
  merchantId: string;
  storeHash: string;
  status: MerchantStatus;
  installedAt: number;
  generation: number;
  pendingEvents: number;
  counters: MerchantCounters;
  reconciliation?: ReconciliationState;
  waitingForCredentials?: number;
}

/** The reconciliation's durable position and totals (rule 8): carried across continue-as-new. */
export interface ReconciliationState {
  /** Orders modified and refunds created from here (less the overlap) are looked at by the next sweep; null: from the install. */
  watermark: number | null;
  lastRunAt: number | null;
  ordersRecovered: number;
  refundsRecovered: number;
  webhooksRepaired: number;
}

/** The dashboard (re-)installed the merchant: credentials were saved, verify them again. */
export const installRequestedSignal = defineSignal<[InstallRequested]>('installRequested');
export interface UninstallRequested {
  /**
   * The install generation the merchant record had when the dashboard asked:
   * an install of this generation or an older one is superseded by the
   * uninstall, even when its signal has not been handled yet.
   */
  generation: number;
}

/**
 * The dashboard uninstalled the merchant: delete the hooks and end.
 * (Signals sent before the uninstall carried a generation have no argument.)
 */
export const uninstallRequestedSignal = defineSignal<[UninstallRequested?]>('uninstallRequested');
/** A verified BigCommerce webhook. Delivered at least once: handling is idempotent. (Runs started before batching.) */
export const webhookEventSignal = defineSignal<[WebhookEvent]>('webhookEvent');
/**
 * What the API knew of its own load when it sent a batch. `pressedAt`: its
 * webhook route was pressed (worker/ingest-first.ts) at that time, and a worker
 * in its process yields to it (`npm start`); the merchant then holds events
 * for a moment instead of starting their workflows (merchant.ts).
 */
export interface IngestHint {
  pressedAt?: number;
}
/**
 * Verified BigCommerce webhooks that arrived together (the API's group commit,
 * api/signal-batcher.ts). The hint was added later: earlier signals have none.
 */
export const webhookEventsSignal = defineSignal<[WebhookEvent[], IngestHint?]>('webhookEvents');
export const merchantStateQuery = defineQuery<MerchantWorkflowState>('state');

/**
 * From an order or refund workflow to its merchant: BigCommerce rejected the
 * credentials (401, or 403 for a scope), or the merchant is failed. The merchant
 * re-checks them, turns `failed` if they are dead, and answers with
 * `credentialsRenewed` once they work again (a re-install).
 */
export const credentialsRejectedSignal = defineSignal<[{ workflowId: string }]>('credentialsRejected');
export const credentialsRenewedSignal = defineSignal('credentialsRenewed');

/** Start a fresh run now (after a key rotation: the new run's history holds only payloads of the new key). */
export const continueAsNewRequestedSignal = defineSignal('continueAsNewRequested');

/**
 * From an order workflow to the merchant run that started it: its first fetch found the order
 * Incomplete, and it now waits for the status to change. The merchant wakes such an order when
 * the order's `statusUpdated` comes, and only such an order (see merchant.ts, REPORTED_WAITS).
 */
export const orderWaitingSignal = defineSignal<[{ orderId: number }]>('orderWaiting');

/** The order's status changed: an incomplete order re-checks it now rather than at its next timer. */
export const orderStatusChangedSignal = defineSignal<[{ newStatusId: number }]>('orderStatusChanged');

/** BigCommerce order statuses the rules name (BIGCOMMERCE.md). */
export const OrderStatus = { Incomplete: 0, Refunded: 4, Cancelled: 5, Declined: 6, PartiallyRefunded: 14 } as const;

/** What the activities hand the workflows about an order: no more than the rules need. */
export interface OrderSnapshot {
  orderId: number;
  statusId: number;
  totalIncTax: string;
  /** The currency the money fields are in (the shopper's, on multi-currency stores). */
  currency: string;
  /**
   * Multi-currency stores, when the order's currency is not the store's default:
   * the default currency and the default → transactional rate to divide by (rule 1).
   * Absent in histories recorded before multi-currency support: no conversion.
   */
  defaultCurrency?: string;
  exchangeRate?: string;
  email: string | null;
  customerId: number | null;
  /** epoch ms of date_created */
  placedAt: number;
}

export interface RefundSnapshot {
  id: number;
  orderId: number;
  /** 4-decimal string */
  amount: string;
}

export interface OrderCredit {
  transactionId: string;
  points: number;
  totalIncTax: string;
  currency: string;
  contactId: string;
  /** The store's default currency and the rate the order was converted at, when it was (its refunds convert with them). */
  defaultCurrency?: string;
  exchangeRate?: string;
}

export type CreditResult =
  | { outcome: 'credited' | 'already_credited'; credit: OrderCredit }
  | { outcome: 'zero_points' | 'no_email' };

export type OrderResult = CreditResult | { outcome: 'not_found' | 'cancelled' | 'still_incomplete' | 'merchant_gone' };

/** An order workflow's outcomes that a second look would not change: credited, or nothing to credit whatever happens (rule 1's zero points, no email). */
export const SETTLED_ORDER_OUTCOMES: readonly OrderResult['outcome'][] = ['credited', 'already_credited', 'zero_points', 'no_email'];

export type RefundResult =
  | { outcome: 'deducted' | 'already_deducted'; transactionId: string; points: number }
  | { outcome: 'nothing_credited' | 'zero_points' | 'merchant_gone' };

export interface OrderWorkflowInput {
  merchantId: string;
  orderId: number;
}

export interface RefundWorkflowInput {
  merchantId: string;
  orderId: number;
  refundId: number;
  /** Orders placed before this (epoch ms) were never credited, so their refunds deduct nothing. */
  installedAt: number;
}

/** How far each reconciliation reaches back before the last one: second-precision dates and clock skew. */
export const RECONCILE_OVERLAP_MS = 5 * 60_000;

/**
 * The merchant workflow's task timeout by default (Temporal's own is 10 s): the
 * first task of a worker that lacks the merchant in its cache replays the whole
 * run, up to MERCHANT_HISTORY_LIMIT events or, after a long worker outage, up to
 * 10,000 signals (the server's cap); that takes seconds on a loaded 2-core
 * machine, and 10 s could time it out again and again. `MERCHANT_TASK_TIMEOUT`
 * sets another at install; each continue-as-new hands on the run's own.
 */
export const MERCHANT_WORKFLOW_TASK_TIMEOUT_S = 60;

/** Where a paged sweep of one list continues: the lower bound it queries with, and the page. */
export interface SweepCursor {
  from: number;
  page: number;
  /** Orders already read whose date_modified is exactly `from` (the next read starts at that second again). */
  seenAtFrom?: number[];
}

export interface SweepResult {
  /** Orders BigCommerce modified in the window that the ledger has not credited (placed after the install). */
  orders: Array<{ orderId: number; statusId: number; /** its workflow is running and waiting: wake it, do not start another */ running?: boolean }>;
  /** Refunds created in the window that the ledger has not deducted. */
  refunds: Array<{ refundId: number; orderId: number }>;
  /** null when the list is read to its end. */
  ordersNext: SweepCursor | null;
  refundsNext: SweepCursor | null;
  /** When this call began: the next reconciliation starts from here (less the overlap). */
  startedAt: number;
}

export interface ImportPage {
  orders: Array<{ orderId: number; statusId: number; credited: boolean }>;
  /** A full page: there may be more. */
  more: boolean;
}

export interface ImportWorkflowInput {
  merchantId: string;
  importId: string;
  /** epoch ms: orders created at or after it are imported */
  since: number;
  /** Carried across continue-as-new. */
  progress?: { page: number; ordersSeen: number; ordersCredited: number };
}

export const redemptionWorkflowId = (merchantId: string, redemptionId: string) => `bigcommerce-redemption:${merchantId}:${redemptionId}`;

/** What a redemption buys (CONTRACT §3); amounts are decimal strings in the store's default currency. */
export type Reward = { type: 'amount_off'; amount: string } | { type: 'percent_off'; percent: number } | { type: 'free_shipping' };
export type RedemptionStatus = 'pending' | 'issued' | 'failed' | 'expired' | 'used';

export interface RedemptionRequest {
  contactId: string;
  redemptionId: string;
  points: number;
  reward: Reward;
  /** epoch ms, or null for a coupon that does not expire */
  expiresAt: number | null;
  /** epoch ms when the API took the request: the expiry timer is measured from it (workflows read no clock). */
  acceptedAt: number;
  /** The request in canonical JSON: the same redemptionId with another body is a conflict. */
  requestHash: string;
}

export type RedeemResult = { outcome: 'accepted' | 'existing' } | { outcome: 'insufficient_points'; balance: number } | { outcome: 'conflict' };

/**
 * Takes a contact's points for a redemption, or says why not. An Update on the
 * merchant workflow: one workflow per merchant serialises every contact's
 * redemptions whatever the store's isolation, so concurrent ones never take a
 * balance below zero, and the caller learns the outcome before answering.
 */
export const redeemUpdate = defineUpdate<RedeemResult, [RedemptionRequest]>('redeem');

export interface RedemptionWorkflowInput extends Omit<RedemptionRequest, 'requestHash'> {
  merchantId: string;
}
