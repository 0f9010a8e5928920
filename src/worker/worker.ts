import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Store } from '../store';
import { dataConverter } from '../temporal/codec';

export interface WorkerDeps {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  encryptionKey: string;
  publicBaseUrl: string;
  store: Store;
  /** Prebuilt workflow bundle (tests bundle once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  requestTimeoutMs?: number;
}

/** The worker: every workflow and activity on one task queue, payloads encrypted. */
export async function createWorker(deps: WorkerDeps): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: deps.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities({ store: deps.store, publicBaseUrl: deps.publicBaseUrl, requestTimeoutMs: deps.requestTimeoutMs }),
    dataConverter: dataConverter(deps.encryptionKey),
  });
  return { worker, connection };
}
