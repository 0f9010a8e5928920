import { Client, Connection } from '@temporalio/client';
import { type Config, keyring } from '../config';
import { dataConverter } from './codec';
import { temporalConnectOptions } from './connection';

export async function connectClient(
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_ENV' | 'ENCRYPTION_KEY' | 'ENCRYPTION_OLD_KEYS'>,
): Promise<Client> {
  const { namespace, connectionOptions } = temporalConnectOptions(config);
  const connection = await Connection.connect(connectionOptions);
  return new Client({ connection, namespace, dataConverter: dataConverter(keyring(config)) });
}
