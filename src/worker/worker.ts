import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { logger } from '../logger';
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

let runtimeInstalled = false;

/** The SDK's own logs go to our structured logger, warnings and up (bundling chatter is INFO). */
function installRuntimeLogging(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN', ({ level, message, meta }) => {
        const fields = { sdk: true, ...(meta as object) };
        if (level === 'ERROR') logger.error(fields, message);
        else logger.warn(fields, message);
      }),
    });
  } catch {
    // Someone (a test harness) installed the runtime first: theirs stands.
  }
}

/** The worker: every workflow and activity on one task queue, payloads encrypted. */
export async function createWorker(deps: WorkerDeps): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntimeLogging();
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
