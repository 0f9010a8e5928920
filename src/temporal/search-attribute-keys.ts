import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The search attributes of CONTRACT §5 (imported by workflow code too, so
 * nothing but @temporalio/common here). Never put a secret in one: search
 * attributes are not encrypted.
 */
export const MerchantIdKey = defineSearchAttributeKey('MerchantId', SearchAttributeType.KEYWORD);
export const StoreHashKey = defineSearchAttributeKey('StoreHash', SearchAttributeType.KEYWORD);
export const BigCommerceOrderIdKey = defineSearchAttributeKey('BigCommerceOrderId', SearchAttributeType.INT);
