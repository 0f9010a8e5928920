import { condition, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import { isCredentialFailure } from './activities';
import { credentialsRejectedSignal, credentialsRenewedSignal, merchantWorkflowId } from './messages';

/** How long a waiting order or refund trusts the merchant's signal before it looks again itself. */
const RECHECK_AFTER = '1 day';

/**
 * Runs a BigCommerce call of an order or refund workflow. When BigCommerce
 * rejects the credentials (or the merchant is already failed, and then no call
 * is made at all), it tells the merchant workflow, which re-checks them and
 * turns the merchant `failed`, and waits durably until the merchant says they
 * work again (a re-install), then tries again: no point is lost, and no call
 * retries against a dead token. Throws MerchantWorkflowGone if the merchant
 * workflow has ended (uninstalled): nobody will fix the credentials.
 */
export function credentialGuard(merchantId: string) {
  let renewed = false;
  setHandler(credentialsRenewedSignal, () => void (renewed = true));
  return async function withCredentials<T>(call: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await call();
      } catch (err) {
        if (!isCredentialFailure(err)) throw err;
      }
      renewed = false;
      try {
        await getExternalWorkflowHandle(merchantWorkflowId(merchantId)).signal(credentialsRejectedSignal, { workflowId: workflowInfo().workflowId });
      } catch {
        throw new MerchantWorkflowGone(merchantId);
      }
      await condition(() => renewed, RECHECK_AFTER);
    }
  };
}

/** The merchant workflow ended while credentials were dead: the order or refund ends `merchant_gone`. */
export class MerchantWorkflowGone extends Error {
  override readonly name = 'MerchantWorkflowGone';
  constructor(merchantId: string) {
    super(`merchant ${merchantId} is no longer installed`);
  }
}

/** Runs an order's or refund's work; if its merchant workflow has ended while credentials were dead, it ends `merchant_gone`. */
export async function unlessMerchantGone<R>(work: () => Promise<R>): Promise<R | { outcome: 'merchant_gone' }> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MerchantWorkflowGone) return { outcome: 'merchant_gone' };
    throw err;
  }
}
