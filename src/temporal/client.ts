import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { type Config, keyring } from '../config';
import { dataConverter } from './codec';
import { temporalConnectOptions } from './connection';
import { installRuntime } from './runtime';

/**
 * The client of the API, the worker's checks and the ops commands, on a native
 * connection (the SDK's Rust core, as the worker's) rather than grpc-js: its
 * gRPC work leaves the process's event loop, where the webhook route answers.
 * Measured with the worker draining on 2 cores: the webhook's p99 lower in 13
 * of 16 alternated pairs; whole benches went both ways (README, Performance).
 */
export async function connectClient(
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_ENV' | 'ENCRYPTION_KEY' | 'ENCRYPTION_OLD_KEYS'>,
): Promise<Client> {
  const { namespace, connectionOptions } = temporalConnectOptions(config);
  installRuntime(); // ours, unless the caller installed one first (with the worker's metrics)
  const connection = await NativeConnection.connect(connectionOptions);
  return new Client({ connection, namespace, dataConverter: dataConverter(keyring(config)) });
}
