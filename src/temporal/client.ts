import { Client, Connection } from '@temporalio/client';
import { type Config, keyring } from '../config';
import { dataConverter } from './codec';

export async function connectClient(config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'ENCRYPTION_KEY' | 'ENCRYPTION_OLD_KEYS'>): Promise<Client> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverter(keyring(config)) });
}
