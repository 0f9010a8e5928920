import { condition, getExternalWorkflowHandle, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { bigcommerce, bigcommerceLocal, store, storeLocal } from './activities';
import { credentialGuard, unlessMerchantGone } from './credentials';
import { merchantWorkflowId, OrderStatus, orderStatusChangedSignal, orderWaitingSignal, type OrderResult, type OrderSnapshot, type OrderWorkflowInput } from './messages';

const FIRST_RECHECK_MS = 60_000;
const MAX_RECHECK_MS = 6 * 3_600_000;
const GIVE_UP_AFTER_MS = 7 * 24 * 3_600_000;

/**
 * Patch id: a status signal that arrives while a re-check's fetch is in flight
 * wakes the next wait at once. Before it, the flag was cleared when the wait
 * began, so such a signal was forgotten and the credit waited for the timer
 * (up to 6 h). Runs recorded before the patch replay with the old clearing.
 */
export const KEEP_WAKEUP_DURING_FETCH = 'order-keeps-wakeup-during-fetch';

/** Patch id: the fetch and the credit run as local activities (runs recorded before used regular ones). */
export const LOCAL_ACTIVITIES = 'order-local-activities';

/**
 * Patch id: an order whose first fetch finds it Incomplete tells the merchant run that started it
 * (`orderWaiting`), which then wakes it when its status changes, instead of guessing from the time
 * that it waits (merchant.ts, REPORTED_WAITS). Orders started by an import, or by a run that has
 * since continued as new, report nothing (the signal to a closed run fails, and is let go).
 */
export const REPORTS_WAITING = 'order-reports-waiting-to-its-merchant';

/**
 * One order: fetch it, wait while it is Incomplete, credit it once (rules 1–3).
 *
 * `store/order/created` also fires for Incomplete orders (failed payments,
 * the duplicate BigCommerce makes when a shopper goes back in checkout): those
 * credit nothing until they become placed orders. The wait is durable: a timer
 * from 60 s backing off to 6 h, for at most 7 days, cut short by an
 * `orderStatusChanged` signal.
 */
export function orderWorkflow(input: OrderWorkflowInput): Promise<OrderResult> {
  return unlessMerchantGone(() => creditWhenPlaced(input));
}

async function creditWhenPlaced({ merchantId, orderId }: OrderWorkflowInput): Promise<OrderResult> {
  let statusChanged = false;
  setHandler(orderStatusChangedSignal, () => void (statusChanged = true));
  const withCredentials = credentialGuard(merchantId);
  const local = patched(LOCAL_ACTIVITIES);
  const activities = local ? { fetchOrder: bigcommerceLocal.fetchOrder, creditOrder: storeLocal.creditOrder } : { fetchOrder: bigcommerce.fetchOrder, creditOrder: store.creditOrder };

  const fetch = () => withCredentials(() => activities.fetchOrder.executeWithOptions({ summary: `fetch order ${orderId}` }, [{ merchantId, orderId }]));
  let order: OrderSnapshot | null = await fetch();
  // Not when a status change came meanwhile: the order looks again at once.
  if (order?.statusId === OrderStatus.Incomplete && !statusChanged && patched(REPORTS_WAITING)) await reportWaiting(merchantId, orderId);
  let waited = 0;
  let delay = FIRST_RECHECK_MS;
  while (order?.statusId === OrderStatus.Incomplete) {
    if (waited >= GIVE_UP_AFTER_MS) return { outcome: 'still_incomplete' };
    if (!patched(KEEP_WAKEUP_DURING_FETCH)) statusChanged = false;
    const woken = await condition(() => statusChanged, delay);
    if (!woken) {
      waited += delay;
      delay = Math.min(delay * 2, MAX_RECHECK_MS);
    }
    // Cleared before the fetch, not before the next wait: a signal during the fetch counts.
    statusChanged = false;
    order = await fetch();
  }
  if (!order) return { outcome: 'not_found' };
  if (order.statusId === OrderStatus.Cancelled || order.statusId === OrderStatus.Declined) return { outcome: 'cancelled' };
  return activities.creditOrder.executeWithOptions({ summary: `credit order ${orderId} (${order.totalIncTax} ${order.currency})` }, [{ merchantId, order }]);
}

/**
 * REPORTS_WAITING: to the merchant run that started this order. Awaited: its answer is an event of
 * this workflow, and one arriving during the task that credits would make the server refuse that
 * task's completion (its retry fetches again). A run that has closed cannot be told; let go.
 */
async function reportWaiting(merchantId: string, orderId: number): Promise<void> {
  const parent = workflowInfo().parent;
  if (parent?.workflowId !== merchantWorkflowId(merchantId)) return;
  await getExternalWorkflowHandle(parent.workflowId, parent.runId)
    .signal(orderWaitingSignal, { orderId })
    .catch(() => undefined);
}
