import { ApplicationFailure, continueAsNew, startChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { describeFailure, reconcile, store } from './activities';
import { childOptions } from './children';
import { type ImportWorkflowInput, OrderStatus, type OrderResult, orderWorkflowId } from './messages';
import { orderWorkflow } from './order';

/** Continue-as-new past this many events: a page of 250 orders adds about a thousand. */
const HISTORY_LIMIT = 5_000;

/**
 * A historical import (`bigcommerce-import:{merchantId}:{importId}`): every
 * order created since `since`, page by page, goes through the same order
 * workflow, by the same id, as its `created` webhook would have; an order the
 * ledger already credited is skipped, so overlapping imports credit nothing
 * twice. Progress is recorded after each page for the import's route.
 */
export async function importWorkflow(input: ImportWorkflowInput & { storeHash: string }): Promise<{ ordersSeen: number; ordersCredited: number }> {
  const { merchantId, importId, since, storeHash } = input;
  let { page, ordersSeen, ordersCredited } = input.progress ?? { page: 1, ordersSeen: 0, ordersCredited: 0 };
  const record = (status: 'running' | 'completed' | 'failed', lastError: string | null = null) =>
    store.recordImportProgress.executeWithOptions({ summary: `import ${status}: ${ordersSeen} seen, ${ordersCredited} credited` }, [
      { merchantId, importId, progress: { status, ordersSeen, ordersCredited, lastError } },
    ]);

  for (;;) {
    let found;
    try {
      found = await reconcile.importPage.executeWithOptions({ summary: `read page ${page} of the orders since the import's start` }, [{ merchantId, since, page }]);
    } catch (err) {
      await record('failed', describeFailure(err));
      throw ApplicationFailure.nonRetryable(`import ${importId} failed: ${describeFailure(err)}`, 'ImportFailed');
    }
    ordersSeen += found.orders.length;
    const results = await Promise.all(found.orders.filter((o) => !o.credited).map(({ orderId, statusId }) => creditOrder(orderId, statusId)));
    ordersCredited += results.filter((r) => r?.outcome === 'credited').length;
    if (!found.more) {
      await record('completed');
      return { ordersSeen, ordersCredited };
    }
    page++;
    await record('running');
    if (workflowInfo().historyLength > HISTORY_LIMIT) {
      return continueAsNew<typeof importWorkflow>({ ...input, progress: { page, ordersSeen, ordersCredited } });
    }
  }

  /**
   * Starts the order's workflow (again, if an earlier one ended without a
   * credit) and waits for its outcome; an incomplete order's workflow is left
   * to wait on its own, and one already running belongs to its webhook.
   */
  async function creditOrder(orderId: number, statusId: number): Promise<OrderResult | null> {
    try {
      const child = await startChild(orderWorkflow, {
        ...childOptions({ workflowId: orderWorkflowId(merchantId, orderId), merchantId, storeHash, orderId }, `order ${orderId} of ${merchantId} (import ${importId})`, true),
        args: [{ merchantId, orderId }],
      });
      return statusId === OrderStatus.Incomplete ? null : await child.result();
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return null;
      throw err;
    }
  }
}
