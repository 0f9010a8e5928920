import type { Store } from '../store';
import { createBigCommerceActivities } from './bigcommerce';
import { createImportActivities } from './imports';
import { createLedgerActivities } from './ledger';
import { createMerchantActivities } from './merchants';
import { createRedemptionActivities } from './redemptions';

export interface ActivityDeps {
  store: Store;
  publicBaseUrl: string;
  rateLimitShare?: number;
  requestTimeoutMs?: number;
  /** HMAC key for coupon codes (a sub-key of ENCRYPTION_KEY). */
  couponKey: Buffer;
}

/** Every activity, built once by the worker around its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createBigCommerceActivities(deps),
    ...createLedgerActivities(deps),
    ...createMerchantActivities(deps),
    ...createImportActivities(deps),
    ...createRedemptionActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
