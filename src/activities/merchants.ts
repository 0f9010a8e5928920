import type { StatusUpdate, WebhookRef } from '../merchants/repository';
import { metrics } from '../observability/metrics';
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

    /** A finished reconciliation, for the state route (fenced like recordMerchantStatus). */
    async recordReconciliation(input: {
      merchantId: string;
      generation: number;
      reconciliation: { lastRunAt: number | null; ordersRecovered: number; refundsRecovered: number; webhooksRepaired: number };
      webhooks: WebhookRef[] | null;
      /** What this sweep recovered (the totals above include it), for the metrics. */
      found?: { orders: number; refunds: number; webhooks: number };
    }): Promise<boolean> {
      if (input.found) {
        metrics.reconciliationRecovered.inc({ kind: 'order' }, input.found.orders);
        metrics.reconciliationRecovered.inc({ kind: 'refund' }, input.found.refunds);
        metrics.reconciliationRecovered.inc({ kind: 'webhook' }, input.found.webhooks);
      }
      const { lastRunAt, ...totals } = input.reconciliation;
      return store.merchants.recordReconciliation(input.merchantId, input.generation, { ...totals, lastRunAt: lastRunAt === null ? null : new Date(lastRunAt) }, input.webhooks);
    },

    /** Fenced like recordMerchantStatus: a re-install saved meanwhile wins. */
    async markUninstalled({ merchantId, generation, lastError }: { merchantId: string; generation: number; lastError?: string }): Promise<boolean> {
      return store.merchants.markUninstalled(merchantId, lastError ?? null, generation);
    },
  };
}
