import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Store } from '../store';
import { continueAsNewRequestedSignal } from '../workflows/messages';

export interface RotationReport {
  /** Merchants whose credentials were sealed with an older key, now re-sealed with ENCRYPTION_KEY. */
  resealed: number;
  alreadyCurrent: number;
  /** Merchant workflows asked to start a fresh run, whose history holds only the new key's payloads. */
  merchantRunsRenewed: number;
  /** Other open workflows (orders waiting, redemptions until expiry, imports) whose histories still hold older payloads. */
  otherOpenWorkflows: number;
}

/**
 * `npm run rotate-keys` (CONTRACT §2): after ENCRYPTION_KEY changed and the old
 * key moved to ENCRYPTION_OLD_KEYS, re-seals every merchant's credentials with
 * the new key and has each merchant workflow continue-as-new, so its history
 * holds only payloads of the new key. The old key can be dropped once the other
 * open workflows it counts have closed (Temporal histories are immutable: their
 * payloads stay sealed with the key of their time).
 */
export async function rotateKeys({ config, store, client }: { config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>; store: Store; client: Client }): Promise<RotationReport> {
  const { resealed, current } = await store.merchants.resealAll();
  let merchantRunsRenewed = 0;
  let otherOpenWorkflows = 0;
  const open = `ExecutionStatus = "Running" AND TaskQueue = "${config.TEMPORAL_TASK_QUEUE}"`;
  for await (const wf of client.workflow.list({ query: open })) {
    if (wf.type === 'merchantWorkflow') {
      await client.workflow.getHandle(wf.workflowId).signal(continueAsNewRequestedSignal);
      merchantRunsRenewed++;
    } else {
      otherOpenWorkflows++;
    }
  }
  return { resealed, alreadyCurrent: current, merchantRunsRenewed, otherOpenWorkflows };
}
