import { ActivityFailure, sleep } from '@temporalio/workflow';
import { coupons, describeFailure, store } from './activities';
import type { RedemptionStatus, RedemptionWorkflowInput } from './messages';

/**
 * One redemption (`bigcommerce-redemption:{merchantId}:{redemptionId}`), a
 * saga: its points were taken before it started (the merchant's `redeem`
 * update). It creates the coupon in BigCommerce; if BigCommerce refuses for
 * good it gives the points back; with an expiry it sleeps until then and
 * deletes the coupon if unused, giving the points back, or records it used.
 */
export async function redemptionWorkflow(input: RedemptionWorkflowInput): Promise<{ status: RedemptionStatus }> {
  const { merchantId, redemptionId, contactId, points, reward, expiresAt, acceptedAt } = input;
  const record = (update: { status: RedemptionStatus; couponCode?: string; promotionId?: number; lastError?: string | null }) =>
    store.recordRedemption.executeWithOptions({ summary: `redemption ${update.status}` }, [{ merchantId, redemptionId, update }]);
  const giveBack = () =>
    store.reverseRedemption.executeWithOptions({ summary: `give ${points} points back` }, [{ merchantId, redemptionId, contactId, points }]);

  let promotionId: number;
  try {
    promotionId = await coupons.createPromotion.executeWithOptions({ summary: `create the COUPON promotion (${reward.type})` }, [
      { merchantId, redemptionId, reward, expiresAt },
    ]);
    const couponCode = await coupons.addCouponCode.executeWithOptions({ summary: 'add its single-use code' }, [{ merchantId, redemptionId, promotionId }]);
    await record({ status: 'issued', couponCode, promotionId });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    // Only refusals for good reach here: transient failures are retried inside the activity.
    await giveBack();
    await record({ status: 'failed', lastError: `BigCommerce refused the coupon: ${describeFailure(err)}` });
    return { status: 'failed' };
  }
  if (expiresAt === null) return { status: 'issued' };

  await sleep(Math.max(0, expiresAt - acceptedAt));
  try {
    if ((await coupons.couponUses.executeWithOptions({ summary: 'was the code used?' }, [{ merchantId, promotionId }])) > 0) {
      await record({ status: 'used' });
      return { status: 'used' };
    }
    await coupons.deletePromotion.executeWithOptions({ summary: 'delete the unused coupon' }, [{ merchantId, promotionId }]);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    // The coupon may still be live in BigCommerce: the points stay spent, the record says why.
    await record({ status: 'issued', lastError: `could not expire the coupon: ${describeFailure(err)}` });
    return { status: 'issued' };
  }
  await giveBack();
  await record({ status: 'expired' });
  return { status: 'expired' };
}
