import { ParentClosePolicy, WorkflowIdReusePolicy } from '@temporalio/workflow';
import { BigCommerceOrderIdKey, MerchantIdKey, StoreHashKey } from '../temporal/search-attribute-keys';

/**
 * Options of an order or refund workflow started by a merchant or an import
 * workflow: it outlives its starter, carries the search attributes engineers
 * look for, and is started once per id. A completed one is never re-run by a
 * duplicate webhook (a failed one may be); `revive` (a sweep or an import
 * found it uncredited, or an order left Incomplete) also re-runs one that
 * completed without a transaction (rule 7: not found, still incomplete).
 */
export function childOptions(ids: { workflowId: string; merchantId: string; storeHash: string; orderId: number }, summary: string, revive = false) {
  return {
    workflowId: ids.workflowId,
    parentClosePolicy: ParentClosePolicy.ABANDON,
    workflowIdReusePolicy: revive ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    typedSearchAttributes: [
      { key: MerchantIdKey, value: ids.merchantId },
      { key: StoreHashKey, value: ids.storeHash },
      { key: BigCommerceOrderIdKey, value: ids.orderId },
    ],
    staticSummary: summary,
  };
}

/** Options of a redemption workflow: outlives the merchant run that started it; once per redemption id. */
export function redemptionChildOptions(ids: { workflowId: string; merchantId: string; storeHash: string }, summary: string) {
  return {
    workflowId: ids.workflowId,
    parentClosePolicy: ParentClosePolicy.ABANDON,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: MerchantIdKey, value: ids.merchantId },
      { key: StoreHashKey, value: ids.storeHash },
    ],
    staticSummary: summary,
  };
}
