import type { StatusUpdate } from '../merchants/repository';
import type { Store } from '../store';

export function createMerchantActivities({ store }: { store: Store }) {
  return {
    /** Writes the install's outcome for the state route, fenced by the install generation. */
    async recordMerchantStatus({ merchantId, generation, update }: { merchantId: string; generation: number; update: StatusUpdate }): Promise<boolean> {
      return store.merchants.recordStatus(merchantId, generation, update);
    },

    async markUninstalled({ merchantId, lastError }: { merchantId: string; lastError?: string }): Promise<void> {
      await store.merchants.markUninstalled(merchantId, lastError ?? null);
    },
  };
}
