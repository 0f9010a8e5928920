import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

/**
 * The SDK's runtime for a test process, installed before its first worker or
 * native connection: only errors are printed, from the TypeScript side and
 * from the native core alike. Expected warnings (activity retries, the
 * time-skipping test server's missing capabilities) and the workers' INFO
 * chatter would otherwise bury the test report. With `prometheusBindAddress`
 * (a bench), the SDK's `temporal_*` metrics are served there.
 */
export function installQuietRuntime(opts: { prometheusBindAddress?: string } = {}): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: {
      logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} },
      ...(opts.prometheusBindAddress ? { metrics: { prometheus: { bindAddress: opts.prometheusBindAddress } } } : {}),
    },
  });
}
