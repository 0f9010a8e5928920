import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { StatusUpdate } from '../merchants/repository';
import { BigCommerceOrderIdKey, MerchantIdKey, StoreHashKey } from '../temporal/search-attribute-keys';
import { describeFailure, install as installActivities, store } from './activities';
import {
  type InstallRequested,
  installRequestedSignal,
  type MerchantCounters,
  merchantStateQuery,
  type MerchantStatus,
  orderStatusChangedSignal,
  orderWorkflowId,
  refundWorkflowId,
  uninstallRequestedSignal,
  type WebhookEvent,
  webhookEventSignal,
} from './messages';
import { orderWorkflow } from './order';
import { refundWorkflow } from './refund';

export interface MerchantWorkflowInput {
  merchantId: string;
  storeHash: string;
  /** epoch ms of the install; refunds of orders placed before it deduct nothing */
  installedAt: number;
  /** Continue-as-new once a run's history reaches this many events (contract bound: 10,000). */
  historyLimit: number;
  /** What a previous run handed over when it continued-as-new. */
  carried?: Carried;
}

interface Carried {
  status: MerchantStatus;
  generation: number;
  pendingInstall: InstallRequested | null;
  uninstallRequested: boolean;
  events: WebhookEvent[];
  counters: MerchantCounters;
}

/** Children started per workflow task at most: keeps each task, and each history batch, small. */
const MAX_BATCH = 50;

/**
 * One per merchant, for as long as the merchant is installed:
 * verify the API account's scopes, register webhooks, then turn each webhook
 * signal into an order or refund child workflow, until uninstalled.
 *
 * Signals only append to in-memory state; the main loop does the work. Before
 * the history grows past `historyLimit` the loop drains in-flight work and
 * continues-as-new carrying every event not yet dispatched, so none is lost.
 */
export async function merchantWorkflow(input: MerchantWorkflowInput): Promise<{ status: 'uninstalled'; counters: MerchantCounters }> {
  const { merchantId } = input;
  let installedAt = input.installedAt;
  const carried = input.carried;
  let storeHash = input.storeHash;
  let status: MerchantStatus = carried?.status ?? 'installing';
  let generation = carried?.generation ?? 0;
  let pendingInstall = carried?.pendingInstall ?? null;
  let uninstallRequested = carried?.uninstallRequested ?? false;
  const events: WebhookEvent[] = [...(carried?.events ?? [])];
  const counters: MerchantCounters = carried
    ? { ...carried.counters, runs: carried.counters.runs + 1 }
    : { eventsReceived: 0, ordersStarted: 0, refundsStarted: 0, duplicateEvents: 0, statusUpdates: 0, runs: 1 };

  setHandler(installRequestedSignal, (req) => {
    if (req.generation > Math.max(generation, pendingInstall?.generation ?? 0)) pendingInstall = req;
  });
  setHandler(uninstallRequestedSignal, () => void (uninstallRequested = true));
  setHandler(webhookEventSignal, (event) => {
    counters.eventsReceived++;
    events.push(event);
  });
  setHandler(merchantStateQuery, () => ({ merchantId, storeHash, status, installedAt, generation, pendingEvents: events.length, counters }));

  const overHistoryLimit = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= input.historyLimit;
  let installing: Promise<void> | undefined;

  async function verifyAndLink(req: InstallRequested): Promise<void> {
    generation = req.generation;
    status = 'installing';
    if (req.storeHash !== storeHash) {
      storeHash = req.storeHash;
      upsertSearchAttributes([{ key: StoreHashKey, value: storeHash }]);
    }
    let update: StatusUpdate;
    try {
      const { missingScopes } = await installActivities.verifyScopes.executeWithOptions({ summary: 'probe the API account for the 7 scopes' }, [{ merchantId }]);
      if (missingScopes.length > 0) {
        update = { status: 'failed', missingScopes, webhooks: [], lastError: `the API account lacks these scopes: ${missingScopes.join(', ')}` };
      } else {
        const webhooks = await installActivities.registerWebhooks.executeWithOptions({ summary: 'register the order, refund and status webhooks' }, [{ merchantId }]);
        update = { status: 'active', missingScopes: [], webhooks, lastError: null };
      }
    } catch (err) {
      update = { status: 'failed', missingScopes: [], lastError: describeFailure(err) };
    }
    status = update.status;
    const recorded = await store.recordMerchantStatus.executeWithOptions({ summary: `record status ${update.status}` }, [{ merchantId, generation: req.generation, update }]);
    // installedAt is the first activation (rule 5). Histories recorded before this answered a boolean.
    if (typeof recorded === 'object' && recorded.installedAt !== null) installedAt = recorded.installedAt;
  }

  /** Starts a child once; an id already started means a duplicate event. Answers whether it started. */
  async function startOnce(kind: 'order' | 'refund', start: () => Promise<unknown>): Promise<boolean> {
    try {
      await start();
      if (kind === 'order') counters.ordersStarted++;
      else counters.refundsStarted++;
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        counters.duplicateEvents++;
        return false;
      }
      throw err;
    }
  }

  const childOptions = (workflowId: string, orderId: number, summary: string) => ({
    workflowId,
    parentClosePolicy: ParentClosePolicy.ABANDON,
    // A completed child is never re-run by a duplicate event; a failed one may be.
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    typedSearchAttributes: [
      { key: MerchantIdKey, value: merchantId },
      { key: StoreHashKey, value: storeHash },
      { key: BigCommerceOrderIdKey, value: orderId },
    ],
    staticSummary: summary,
  });

  const startOrder = (orderId: number) => {
    const workflowId = orderWorkflowId(merchantId, orderId);
    return startOnce('order', () =>
      startChild(orderWorkflow, { ...childOptions(workflowId, orderId, `order ${orderId} of ${merchantId}`), args: [{ merchantId, orderId }] }),
    );
  };

  async function dispatch(event: WebhookEvent): Promise<void> {
    switch (event.scope) {
      case 'store/order/created':
        await startOrder(event.orderId);
        return;
      case 'store/order/refund/created': {
        const workflowId = refundWorkflowId(merchantId, event.refundId);
        await startOnce('refund', () =>
          startChild(refundWorkflow, {
            ...childOptions(workflowId, event.orderId, `refund ${event.refundId} of order ${event.orderId}`),
            args: [{ merchantId, orderId: event.orderId, refundId: event.refundId, installedAt }],
          }),
        );
        return;
      }
      case 'store/order/statusUpdated':
        // Rule 6: status changes never change points. One leaving Incomplete only wakes
        // (or, if its `created` event was lost, starts) the order's workflow.
        counters.statusUpdates++;
        if (event.previousStatusId === 0 && event.newStatusId !== 0 && !(await startOrder(event.orderId))) {
          try {
            await getExternalWorkflowHandle(orderWorkflowId(merchantId, event.orderId)).signal(orderStatusChangedSignal, { newStatusId: event.newStatusId });
          } catch {
            // The order's workflow already finished: nothing to wake.
          }
        }
        return;
    }
  }

  for (;;) {
    await condition(() => uninstallRequested || overHistoryLimit() || events.length > 0 || (pendingInstall !== null && !installing));
    if (uninstallRequested) {
      await installing;
      let lastError: string | undefined;
      try {
        await installActivities.deleteWebhooks.executeWithOptions({ summary: 'delete the webhooks this integration registered' }, [{ merchantId }]);
      } catch (err) {
        lastError = `uninstalled, but the webhooks could not be deleted: ${describeFailure(err)}`;
      }
      uninstallRequested = false;
      // A re-install that came in meanwhile is served by this same workflow: go round again.
      if (pendingInstall !== null) continue;
      const recorded = await store.markUninstalled({ merchantId, generation, lastError });
      // Not recorded: a re-install was saved since; its signal is on the way (the API saves, then signals).
      // (Strictly false: runs recorded before this fence got no answer here and must replay unchanged.)
      if (recorded === false) await condition(() => pendingInstall !== null, '1 minute');
      if (pendingInstall !== null) continue;
      status = 'uninstalled';
      return { status, counters };
    }
    if (overHistoryLimit()) {
      await installing;
      await condition(allHandlersFinished);
      return continueAsNew<typeof merchantWorkflow>({
        ...input,
        storeHash,
        installedAt,
        carried: { status, generation, pendingInstall, uninstallRequested, events, counters },
      });
    }
    if (pendingInstall !== null && !installing) {
      const req: InstallRequested = pendingInstall;
      pendingInstall = null;
      installing = verifyAndLink(req).finally(() => void (installing = undefined));
    }
    if (events.length > 0) await Promise.all(events.splice(0, MAX_BATCH).map(dispatch));
  }
}
