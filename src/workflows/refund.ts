import { refundPoints } from '../ledger/points';
import { bigcommerce, store } from './activities';
import { credentialGuard, unlessMerchantGone } from './credentials';
import { OrderStatus, type OrderCredit, type RefundResult, type RefundWorkflowInput } from './messages';

/**
 * One BigCommerce refund (rules 4–5): deduct the points it takes back from
 * what its order credited. The deduction depends only on the order's credit
 * and the refunds up to this one, so refunds of one order may run concurrently.
 */
export function refundWorkflow(input: RefundWorkflowInput): Promise<RefundResult> {
  return unlessMerchantGone(() => deductInProportion(input));
}

async function deductInProportion({ merchantId, orderId, refundId, installedAt }: RefundWorkflowInput): Promise<RefundResult> {
  const withCredentials = credentialGuard(merchantId);
  const refunds = await withCredentials(() =>
    bigcommerce.fetchRefunds.executeWithOptions({ summary: `fetch refunds of order ${orderId}` }, [{ merchantId, orderId, refundId }]),
  );
  const credit =
    (await store.orderCredit({ merchantId, orderId })) ??
    (await creditMissedOrder(merchantId, orderId, installedAt, withCredentials));
  if (!credit || credit.points <= 0) return { outcome: 'nothing_credited' };

  const points = refundPoints(credit.points, credit.totalIncTax, refunds, refundId);
  if (points === 0) return { outcome: 'zero_points' };
  const refund = refunds.find((r) => r.id === refundId)!;
  return store.deductRefund.executeWithOptions({ summary: `deduct ${-points} points for refund ${refundId}` }, [
    { merchantId, orderId, refundId, amount: refund.amount, points, credit },
  ]);
}

/**
 * Rule 5: a refund can arrive for an order whose `created` event never came
 * (or has not yet). An order placed after the install is credited first; one
 * placed before it, or not placed at all, credited nothing and deducts nothing.
 */
async function creditMissedOrder(
  merchantId: string,
  orderId: number,
  installedAt: number,
  withCredentials: <T>(call: () => Promise<T>) => Promise<T>,
): Promise<OrderCredit | null> {
  const order = await withCredentials(() => bigcommerce.fetchOrder.executeWithOptions({ summary: `fetch order ${orderId}` }, [{ merchantId, orderId }]));
  // date_created has whole seconds: an order in the install's own second counts as after it.
  if (!order || order.placedAt < Math.floor(installedAt / 1000) * 1000) return null;
  const unplaced: number[] = [OrderStatus.Incomplete, OrderStatus.Cancelled, OrderStatus.Declined];
  if (unplaced.includes(order.statusId)) return null;
  const result = await store.creditOrder.executeWithOptions({ summary: `credit order ${orderId} before its refund` }, [{ merchantId, order }]);
  return 'credit' in result ? result.credit : null;
}
