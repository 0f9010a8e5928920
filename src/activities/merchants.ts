import type { StatusUpdate } from '../merchants/repository';
import type { Store } from '../store';

export function createMerchantActivities({ store }: { store: Store }) {
  return {
    /**
     * Writes the install's outcome for the state route, fenced by the install
     * generation; answers whether it applied and the merchant's installedAt
     * (set by the first activation).
     */
    async recordMerchantStatus({
      merchantId,
      generation,
      update,
    }: {
      merchantId: string;
      generation: number;
      update: StatusUpdate;
    }): Promise<{ applied: boolean; installedAt: number | null }> {
      return store.merchants.recordStatus(merchantId, generation, update);
    },

    /** Fenced like recordMerchantStatus: a re-install saved meanwhile wins. */
    async markUninstalled({ merchantId, generation, lastError }: { merchantId: string; generation: number; lastError?: string }): Promise<boolean> {
      return store.merchants.markUninstalled(merchantId, lastError ?? null, generation);
    },
  };
}
