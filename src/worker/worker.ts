import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { logger } from '../logger';
import { createActivities } from '../activities';
import { keyring } from '../config';
import type { Config } from '../config';
import type { Store } from '../store';
import { dataConverter } from '../temporal/codec';

export interface WorkerDeps {
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE' | 'ENCRYPTION_KEY' | 'ENCRYPTION_OLD_KEYS' | 'PUBLIC_BASE_URL' | 'RATE_LIMIT_SHARE'>;
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
  const { config } = deps;
  const keys = keyring(config);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities({
      store: deps.store,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      rateLimitShare: config.RATE_LIMIT_SHARE,
      couponKey: keys.current.sub('coupon-codes'),
      requestTimeoutMs: deps.requestTimeoutMs,
    }),
    dataConverter: dataConverter(keys),
  });
  return { worker, connection };
}
