import { DefaultLogger, Runtime } from '@temporalio/worker';
import { logger } from '../logger';

let runtimeInstalled = false;

/**
 * The SDK's runtime, once per process and before the first connection (the
 * worker's, and the client's: both are native connections): its own
 * logs, the native core's included, go to our structured logger (warnings and
 * up; bundling chatter is INFO),
 * and with `prometheusBindAddress` its `temporal_*` worker metrics are served
 * there (the metrics server of observability/metrics.ts passes them on).
 */
export function installRuntime(opts: { prometheusBindAddress?: string } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      // Workflows log through the SDK's replay-safe logger: their INFO lines come here too, with the
      // workflow's ids; the SDK's own INFO chatter (bundling, polling) is left out.
      logger: new DefaultLogger('INFO', ({ level, message, meta }) => {
        const as = sdkLogLevel(level, message, meta);
        if (as) logger[as]({ sdk: true, ...(meta as object) }, message);
      }),
      telemetryOptions: {
        // The native core's warnings and errors go to the same logger, as JSON lines with the
        // rest, instead of straight to the console in colour.
        logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
        ...(opts.prometheusBindAddress ? { metrics: { prometheus: { bindAddress: opts.prometheusBindAddress } } } : {}),
      },
    });
  } catch {
    // Someone (a test harness) installed the runtime first: theirs stands.
  }
}

/**
 * The level at which an SDK log line is written, or null to drop it: errors and
 * warnings as they are, workflows' own INFO lines, not the SDK's INFO chatter.
 *
 * One warning is expected, and goes to debug: the core's TMPRL1104 ("workflow
 * task duration exceeded 5 seconds") for an order workflow. An order's fetch is
 * a local activity, run inside its workflow task, and it waits there for the
 * store's rate-limit quota. On a Standard plan (150 requests per 30 s) every
 * order of a sale waits: 800 orders at once gave 576 such warnings, for a
 * delay the SDK handles by design (it heartbeats the task). That wait shows in
 * `loyalty_bigcommerce_rate_wait_seconds`, and task latency in the SDK's
 * `temporal_workflow_task_execution_latency`.
 */
export function sdkLogLevel(level: string, message: string, meta: unknown): 'error' | 'warn' | 'info' | 'debug' | null {
  const fields = (meta ?? {}) as { sdkComponent?: string; workflow_type?: string };
  if (level === 'ERROR') return 'error';
  if (level === 'WARN') return message.includes('TMPRL1104') && fields.workflow_type === 'orderWorkflow' ? 'debug' : 'warn';
  return fields.sdkComponent === 'workflow' ? 'info' : null;
}
