import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import type { Config } from '../config';

/**
 * How to reach Temporal, from Temporal's own environment configuration
 * (`@temporalio/envconfig`: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE and
 * a `temporal.toml`), so one build connects to a local dev server, a
 * self-hosted cluster or Temporal Cloud (API key or mTLS). A variable wins
 * over the profile; with neither, the contract's defaults (127.0.0.1:7233,
 * `default`). TLS turns on by itself with an API key.
 */
export function temporalConnectOptions(config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_ENV'>): {
  namespace: string;
  connectionOptions: NativeConnectionOptions & { address: string };
} {
  const loaded = loadClientConnectConfig({ overrideEnvVars: config.TEMPORAL_ENV, profile: config.TEMPORAL_ENV.TEMPORAL_PROFILE });
  return {
    namespace: loaded.namespace ?? config.TEMPORAL_NAMESPACE,
    connectionOptions: { ...loaded.connectionOptions, address: loaded.connectionOptions.address ?? config.TEMPORAL_ADDRESS },
  };
}
