import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Store } from '../store';
import { createApp } from './app';

/** Listens on HOST:PORT; resolves once listening. */
export async function startApi(deps: { config: Config; client: Client; store: Store; logger: Logger; uiOrigins?: string[] }): Promise<Server> {
  const app = createApp(deps);
  return new Promise((resolve, reject) => {
    const server = app.listen(deps.config.PORT, deps.config.HOST, (err?: Error) => (err ? reject(err) : resolve(server)));
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
