/**
 * Workflows of `npm run bench:pipeline`'s floor phase (never registered by the
 * product's worker): what the design card's "a child workflow per order"
 * costs Temporal and the SDK with nothing else in it. A parent takes order ids
 * by signal and starts one child per id as they come, with the product's own child options
 * (workflow id, search attributes, summary, parent close policy); each child
 * returns at once: no fetch, no credit. The parent ends once every child has,
 * and says how many children were running at once at most. With `maxRunning`,
 * ids wait in the parent while that many children run (started, not yet seen
 * to end), and start as children end; without it nothing bounds them. (Nor is
 * its history bounded: it never continues as new.)
 */
import { condition, defineSignal, setHandler, startChild } from '@temporalio/workflow';
import { childOptions } from '../src/workflows/children';

export const floorOrdersSignal = defineSignal<[number[]]>('floorOrders');

export interface FloorInput {
  merchantId: string;
  storeHash: string;
  orders: number;
  /** At most this many children running at once; none if absent. */
  maxRunning?: number;
}

/** Children ended, and the most that were running at once (started, not yet seen to end). */
export interface FloorResult {
  ended: number;
  mostRunning: number;
}

export async function floorMerchant({ merchantId, storeHash, orders, maxRunning }: FloorInput): Promise<FloorResult> {
  const queued: number[] = [];
  let started = 0;
  let ended = 0;
  let mostRunning = 0;
  setHandler(floorOrdersSignal, (ids) => void queued.push(...ids));
  const startOne = async (orderId: number) => {
    const child = await startChild(floorOrder, {
      ...childOptions({ workflowId: `floor-order:${merchantId}:${orderId}`, merchantId, storeHash, orderId }, `order ${orderId} of ${merchantId}`),
      args: [{ merchantId, orderId }],
    });
    await child.result();
    ended++;
  };
  const running: Promise<void>[] = [];
  const mayStart = () => queued.length > 0 && (maxRunning === undefined || started - ended < maxRunning);
  while (started < orders) {
    await condition(mayStart);
    while (mayStart()) {
      running.push(startOne(queued.shift()!));
      started++;
    }
    mostRunning = Math.max(mostRunning, started - ended);
  }
  await Promise.all(running);
  return { ended, mostRunning };
}

export async function floorOrder(_input: { merchantId: string; orderId: number }): Promise<{ outcome: 'credited' }> {
  return { outcome: 'credited' };
}
