import type { ImportView } from '../imports/repository';
import type { Store } from '../store';

export function createImportActivities({ store }: { store: Store }) {
  return {
    /** The import's progress for `GET …/imports/{importId}`: running totals, so a retry writes the same. */
    async recordImportProgress(input: { merchantId: string; importId: string; progress: Pick<ImportView, 'status' | 'ordersSeen' | 'ordersCredited' | 'lastError'> }): Promise<void> {
      await store.imports.recordProgress(input.merchantId, input.importId, input.progress);
    },
  };
}
