import type { Store } from '../store';
import { createBigCommerceActivities } from './bigcommerce';
import { createImportActivities } from './imports';
import { createLedgerActivities } from './ledger';
import { createMerchantActivities } from './merchants';

export interface ActivityDeps {
  store: Store;
  publicBaseUrl: string;
  rateLimitShare?: number;
  requestTimeoutMs?: number;
}

/** Every activity, built once by the worker around its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createBigCommerceActivities(deps),
    ...createLedgerActivities(deps),
    ...createMerchantActivities(deps),
    ...createImportActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
