import { createServer, type Server } from 'node:http';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Store } from '../store';
import { createRequestListener } from './app';

const inFlight = new WeakMap<Server, { count: number; drained: Array<() => void> }>();

/** Listens on HOST:PORT; resolves once listening. Counts requests in flight so a shutdown can drain them. */
export async function startApi(deps: { config: Config; client: Client; store: Store; logger: Logger }): Promise<Server> {
  const listener = createRequestListener(deps);
  const state = { count: 0, drained: [] as Array<() => void> };
  const server = createServer((req, res) => {
    state.count++;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (--state.count === 0) state.drained.splice(0).forEach((f) => f());
    };
    res.once('finish', finish);
    res.once('close', finish);
    listener(req, res);
  });
  inFlight.set(server, state);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.config.PORT, deps.config.HOST, () => resolve(server));
  });
}

/**
 * Stops accepting connections and waits until every request in flight has
 * been answered (at most `graceMs`), so no handler is still talking to
 * Temporal or the store when their connections close next.
 */
export async function closeServer(server: Server, graceMs = 10_000): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const state = inFlight.get(server);
  if (state && state.count > 0) {
    await Promise.race([new Promise<void>((r) => state.drained.push(r)), new Promise((r) => setTimeout(r, graceMs).unref())]);
  }
  server.closeAllConnections();
  await closed;
}
