import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { keyring } from '../src/config';
import { dataConverter, FAILURE_CONVERTER_PATH } from '../src/temporal/codec';
import { temporalConnectOptions } from '../src/temporal/connection';
import type { System } from '../test/helpers/system';
import { bundlerLogger } from './common';
import type { CpuUse } from './cpu';
import { floorMerchant, floorOrdersSignal } from './floor-workflows';

/**
 * The floor of a child workflow per order (bench/floor-workflows.ts): on the
 * system's servers, with its data converter (payloads encrypted) and a worker
 * of the SDK's default options on a task queue of its own, `orders` ids are
 * signalled to a parent `batch` per signal, `inFlight` signals at a time, and
 * the parent starts a child per id that returns at once. Answers children
 * ended per second, from the first signal until the parent has seen every
 * child end, and what `measureCpu` counted meanwhile. A warm-up run of 50
 * children first. Also answers the most children running at once in the
 * measured run (at most `maxRunning`, if given), and the length of its parent's history.
 */
export async function childPerOrderFloor(
  sys: System,
  opts: { storeHash: string; orders: number; batch: number; inFlight: number; maxRunning?: number },
  measureCpu: () => () => CpuUse,
): Promise<{ rate: number; seconds: number; cpu: CpuUse; mostRunning: number; historyLength: number }> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./floor-workflows'), failureConverterPath: FAILURE_CONVERTER_PATH, logger: bundlerLogger });
  const { namespace, connectionOptions } = temporalConnectOptions(sys.config);
  const connection = await NativeConnection.connect(connectionOptions);
  const taskQueue = `${sys.config.TEMPORAL_TASK_QUEUE}-floor`;
  const worker = await Worker.create({ connection, namespace, taskQueue, workflowBundle: { code }, dataConverter: dataConverter(keyring(sys.config)) });
  const running = worker.run();
  const once = async (merchantId: string, orders: number) => {
    const handle = await sys.client.workflow.start(floorMerchant, { taskQueue, workflowId: `floor-merchant:${merchantId}`, args: [{ merchantId, storeHash: opts.storeHash, orders, maxRunning: opts.maxRunning }] });
    const batches: number[][] = [];
    for (let id = 1; id <= orders; id += opts.batch) batches.push(Array.from({ length: Math.min(opts.batch, orders - id + 1) }, (_, i) => id + i));
    let next = 0;
    await Promise.all(
      Array.from({ length: opts.inFlight }, async () => {
        while (next < batches.length) await handle.signal(floorOrdersSignal, batches[next++]!);
      }),
    );
    const { ended, mostRunning } = await handle.result();
    if (ended !== orders) throw new Error(`floor: ${ended} of ${orders} children ended`);
    return { mostRunning, historyLength: (await handle.describe()).historyLength };
  };
  try {
    await once(`floor-warm-${Date.now()}`, 50);
    const cpu = measureCpu();
    const started = performance.now();
    const { mostRunning, historyLength } = await once(`floor-${Date.now()}`, opts.orders);
    const seconds = (performance.now() - started) / 1000;
    return { rate: opts.orders / seconds, seconds, cpu: cpu(), mostRunning, historyLength };
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
}
