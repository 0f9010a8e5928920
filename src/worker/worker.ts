import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { createActivities } from '../activities';
import { keyring, SDK_DEFAULT_WORKFLOW_TASKS } from '../config';
import { logger } from '../logger';
import type { Config } from '../config';
import { freePort } from '../dev/servers';
import { serveMetrics } from '../observability/metrics';
import type { Store } from '../store';
import { dataConverter } from '../temporal/codec';
import { temporalConnectOptions } from '../temporal/connection';
import { installRuntime } from '../temporal/runtime';
import { PREBUILT_BUNDLE } from './bundle';
import { workflowBundleFromSources } from './bundle-cache';
import { type IngestGauge, IngestFirstSlots } from './ingest-first';

export interface WorkerDeps {
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_ENV' | 'TEMPORAL_TASK_QUEUE' | 'ENCRYPTION_KEY' | 'ENCRYPTION_OLD_KEYS' | 'PUBLIC_BASE_URL' | 'RATE_LIMIT_SHARE' | 'WORKER_MAX_WORKFLOW_TASKS' | 'WORKER_MAX_LOCAL_ACTIVITIES' | 'WORKER_MAX_CACHED_WORKFLOWS' | 'WORKER_YIELDS_TO_INGEST'>;
  store: Store;
  /** Prebuilt workflow bundle (tests bundle once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  requestTimeoutMs?: number;
  /** The webhook route of this process, when the API runs here too (`npm start`): the worker yields to it. */
  ingest?: IngestGauge;
}

/** The SDK's own defaults, which the tuner below has to spell out. */
const SDK_DEFAULT_SLOTS = { workflowTasks: SDK_DEFAULT_WORKFLOW_TASKS, activities: 100, localActivities: 100, nexusTasks: 100 };
/** What the worker takes while 4 or more webhooks are in flight (measured on 2 cores: README, Performance). */
const SLOTS_WHILE_INGESTING = { workflowTasks: 2, localActivities: 1 };

/** The worker: every workflow and activity on one task queue, payloads encrypted. */
export async function createWorker(deps: WorkerDeps): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntime();
  const { config } = deps;
  const keys = keyring(config);
  const { namespace, connectionOptions } = temporalConnectOptions(config);
  const connection = await NativeConnection.connect(connectionOptions);
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowBundle: await workflowCode(deps.workflowBundle),
    activities: createActivities({
      store: deps.store,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      rateLimitShare: config.RATE_LIMIT_SHARE,
      couponKey: keys.current.sub('coupon-codes'),
      requestTimeoutMs: deps.requestTimeoutMs,
    }),
    dataConverter: dataConverter(keys),
    ...workerCapacity(config, deps.ingest),
  });
  return { worker, connection };
}

/**
 * How many tasks the worker runs at once and how many runs it keeps in memory:
 * WORKER_MAX_* (else the SDK's defaults); in the API's process, fewer tasks
 * while webhooks arrive.
 */
export function workerCapacity(
  config: WorkerDeps['config'],
  ingest: IngestGauge | undefined,
): Pick<WorkerOptions, 'tuner' | 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentLocalActivityExecutions' | 'maxCachedWorkflows'> {
  const cache = config.WORKER_MAX_CACHED_WORKFLOWS === undefined ? {} : { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS };
  return { ...slots(config, ingest), ...cache };
}

function slots(config: WorkerDeps['config'], ingest: IngestGauge | undefined): Pick<WorkerOptions, 'tuner' | 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentLocalActivityExecutions'> {
  const workflowTasks = config.WORKER_MAX_WORKFLOW_TASKS ?? SDK_DEFAULT_SLOTS.workflowTasks;
  const localActivities = config.WORKER_MAX_LOCAL_ACTIVITIES ?? SDK_DEFAULT_SLOTS.localActivities;
  if (!ingest || !config.WORKER_YIELDS_TO_INGEST) return { maxConcurrentWorkflowTaskExecutions: workflowTasks, maxConcurrentLocalActivityExecutions: localActivities };
  return {
    tuner: {
      workflowTaskSlotSupplier: new IngestFirstSlots({ quiet: workflowTasks, busy: Math.min(workflowTasks, SLOTS_WHILE_INGESTING.workflowTasks) }, ingest),
      localActivityTaskSlotSupplier: new IngestFirstSlots({ quiet: localActivities, busy: Math.min(localActivities, SLOTS_WHILE_INGESTING.localActivities) }, ingest),
      activityTaskSlotSupplier: { type: 'fixed-size', numSlots: SDK_DEFAULT_SLOTS.activities },
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: SDK_DEFAULT_SLOTS.nexusTasks },
    },
  };
}

/**
 * The worker process's metrics: the SDK's `temporal_*` on an internal port,
 * served with ours at `GET /metrics` on METRICS_PORT (0: off).
 */
export async function startWorkerMetrics(config: Pick<Config, 'HOST' | 'METRICS_PORT'>, defaultPort: number) {
  const port = config.METRICS_PORT ?? defaultPort;
  if (port === 0) {
    installRuntime();
    return undefined;
  }
  const sdkPort = await freePort();
  installRuntime({ prometheusBindAddress: `127.0.0.1:${sdkPort}` });
  return serveMetrics({ host: config.HOST, port, sdkMetricsUrl: `http://127.0.0.1:${sdkPort}/metrics` });
}

/**
 * The given bundle; else the one `npm run build` made (a compiled build); else
 * the workflows bundled from the sources (development), once per change of
 * them (`src/worker/bundle-cache.ts`).
 */
async function workflowCode(bundle: WorkerOptions['workflowBundle']): Promise<NonNullable<WorkerOptions['workflowBundle']>> {
  if (bundle) return bundle;
  if (existsSync(PREBUILT_BUNDLE)) return { codePath: PREBUILT_BUNDLE };
  const started = Date.now();
  const { codePath, from } = await workflowBundleFromSources(Runtime.instance().logger);
  const said = { cache: 'workflows: the bundle of these sources made before', webpack: 'workflows bundled from the sources (kept for the next start)', 'webpack, not kept': 'workflows bundled from the sources (not kept)' };
  logger.info({ codePath, from, ms: Date.now() - started }, said[from]);
  return { codePath };
}
