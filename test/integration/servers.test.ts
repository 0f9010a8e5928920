import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import mongoose from 'mongoose';
import pino from 'pino';
import { closeServer, startApi } from '../../src/api/server';
import { loadConfig } from '../../src/config';
import { MissingToolError, resolveTemporalBinary } from '../../src/dev/binaries';
import { freePort, freePorts, startStore, startTemporal, waitForPort } from '../../src/dev/servers';
import { type Logger, logger } from '../../src/logger';
import { openStore } from '../../src/store';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { startProcesses, waitFor } from '../helpers/system';
import { tempDir } from '../helpers/temp-dir';

const tmp = () => tempDir('bc-servers-');

test('search attributes are registered on a persisted dev-server database that was created without them, once', async () => {
  const bin = await resolveTemporalBinary();
  const [port, httpPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const dbFile = path.join(tmp(), 'temporal.db');
  // A dev server whose database predates the attributes: no --search-attribute flags. Its ports all ours (see freePort).
  const ports = ['--port', String(port), '--http-port', String(httpPort), '--metrics-port', String(metricsPort)];
  const child = spawn(bin, ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', ...ports, '--db-filename', dbFile, '--log-level', 'error'], { stdio: 'ignore' });
  try {
    await waitForPort(port, '127.0.0.1', 30_000, child);
    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    try {
      const list = async () => Object.keys((await connection.operatorService.listSearchAttributes({ namespace: 'default' })).customAttributes ?? {});
      let added: string[] = [];
      for (let i = 0; i < 50; i++) {
        try {
          added = await ensureSearchAttributes(connection, 'default');
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 200)); // namespace still being created
        }
      }
      expect(added.sort()).toEqual(['BigCommerceOrderId', 'MerchantId', 'StoreHash']);
      expect(await list()).toEqual(expect.arrayContaining(['BigCommerceOrderId', 'MerchantId', 'StoreHash']));
      expect(await ensureSearchAttributes(connection, 'default')).toEqual([]); // idempotent
    } finally {
      await connection.close();
    }
  } finally {
    child.kill('SIGKILL');
  }
});

test('/readyz answers 503 naming the store while the store is down, 200 when both are up', async () => {
  const storePort = await freePort();
  const store = await startStore({ port: storePort, dataDir: tmp() });
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(await freePort()),
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    MONGODB_URI: store.uri,
    DASHBOARD_API_KEY: 'readyz-test-key-0123456789',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    DATA_DIR: tmp(),
  });
  const db = await openStore(config.MONGODB_URI, config.ENCRYPTION_KEY);
  const client = new Client({ connection: await Connection.connect({ address: config.TEMPORAL_ADDRESS }) });
  const server = await startApi({ config, client, store: db, logger });
  const url = `http://127.0.0.1:${config.PORT}/readyz`;
  try {
    const up = await fetch(url);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ status: 'ready', checks: { temporal: 'ok', store: 'ok' } });

    await store.stop();
    const down = await fetch(url);
    expect(down.status).toBe(503);
    const body = (await down.json()) as { error: { code: string; message: string; details: Record<string, string> } };
    expect(body.error.code).toBe('not_ready');
    expect(body.error.message).toMatch(/store/);
    expect(body.error.message).not.toMatch(/temporal/);
    expect(body.error.details.temporal).toBe('ok');
  } finally {
    await closeServer(server);
    await client.connection.close();
    await db.close().catch(() => undefined);
    await store.stop();
  }
});

test('an API that cannot reach Temporal answers a webhook 503 temporal_unavailable, so BigCommerce delivers it again; a failure of its own 500 internal, logged apart; neither logs the secret', async () => {
  // Where Temporal should be, a port held by a listener that drops every connection: no other server can take it meanwhile.
  const dead = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(await freePort()),
    TEMPORAL_ADDRESS: `127.0.0.1:${(dead.address() as net.AddressInfo).port}`,
    MONGODB_URI: `${process.env.TEST_MONGODB_URL}/t_no_temporal_${process.pid}`,
    DASHBOARD_API_KEY: 'no-temporal-test-key-0123456789',
    ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
    DATA_DIR: tmp(),
  });
  const db = await openStore(config.MONGODB_URI, config.ENCRYPTION_KEY);
  await db.merchants.saveInstall({ merchantId: 'm1', storeHash: 'abc123', apiBase: 'https://api.bigcommerce.com/stores/abc123/v3/', clientId: 'c1', name: null, accessToken: 'token-of-m1', clientSecret: null, pointsPerCurrencyUnit: '1.0000' });
  const secret = (await db.merchants.secrets('m1'))!.webhookSecret;
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) }) as unknown as Logger;
  // Without the SDK's gRPC retries (interceptors: []) the failed signal comes back at once, not at the route's 5 s deadline.
  const client = new Client({ connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS, interceptors: [] }) });
  const server = await startApi({ config, client, store: db, logger: log });
  try {
    const res = await fetch(`http://127.0.0.1:${config.PORT}/webhooks/bigcommerce/m1?attempt=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Loyalty-Webhook-Secret': secret },
      body: JSON.stringify({ scope: 'store/order/created', store_id: '1', data: { type: 'order', id: 7 }, hash: 'h7', created_at: 1, producer: 'stores/abc123' }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('temporal_unavailable');
    await waitFor(async () => (lines.some((l) => l.msg === 'http') ? true : undefined), 5_000, 'the http log line');
    expect(lines.find((l) => l.msg === 'http')).toMatchObject({ method: 'POST', path: '/webhooks/bigcommerce/m1', status: 503 });
    expect(lines.find((l) => l.msg === 'could not hand the webhook to Temporal')).toMatchObject({ merchantId: 'm1', scope: 'store/order/created' });
    expect(JSON.stringify(lines)).not.toContain(secret);

    // A failure that is not an answer of the route's (here the store, closed, cannot look the merchant up):
    // 500 with nothing of the failure in the body, the failure in a log line of its own.
    await db.connection.dropDatabase();
    await db.close();
    db.connection.config.bufferCommands = false; // fail at once, not after mongoose's 10 s of waiting for a reconnect
    const failed = await fetch(`http://127.0.0.1:${config.PORT}/webhooks/bigcommerce/m2`, { method: 'POST', headers: { 'X-Loyalty-Webhook-Secret': secret }, body: '{}' });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: { code: 'internal', message: 'something went wrong on our side; it has been logged' } });
    await waitFor(async () => (lines.some((l) => l.msg === 'http' && l.status === 500) ? true : undefined), 5_000, 'the http log line of the 500');
    expect(lines.find((l) => l.msg === 'request failed')).toMatchObject({ method: 'POST', path: '/webhooks/bigcommerce/m2', err: expect.anything() });
    expect(JSON.stringify(lines)).not.toContain(secret);
  } finally {
    await closeServer(server);
    await client.connection.close();
    await db.connection.dropDatabase().catch(() => undefined);
    await db.close().catch(() => undefined);
    dead.close();
  }
});

test("the store finds a document through its _id index, also when the filter names more than _id (a fenced update's)", async () => {
  const conn = await mongoose.createConnection(`${process.env.TEST_MONGODB_URL}/t_id_lookup_${process.pid}`).asPromise();
  try {
    const db = conn.db!;
    const merchants = db.collection<{ _id: string; installGeneration: number; status?: string }>('merchants');
    await merchants.insertMany(Array.from({ length: 200 }, (_, i) => ({ _id: `m${i}`, installGeneration: 1 })));
    const ferretdb = Boolean((await db.admin().command({ buildInfo: 1 })).ferretdbVersion);
    for (const filter of [{ _id: 'm7' }, { _id: 'm7', installGeneration: 1 }, { _id: 'm7', installGeneration: 1, status: { $ne: 'uninstalled' } }]) {
      const explained = await db.command({ explain: { find: 'merchants', filter } });
      const plan = JSON.stringify(explained.queryPlanner);
      if (ferretdb) {
        // SQLite's own plan: SEARCH … USING INDEX on the _id expression, not SCAN of the table.
        expect({ filter, pushdown: explained.filterPushdown, index: /USING (?:COVERING )?INDEX/.test(plan) }).toEqual({ filter, pushdown: true, index: true });
      } else {
        expect(plan).toMatch(/IDHACK|EXPRESS|IXSCAN/);
      }
    }
    // The rest of the filter still decides: a fence that does not hold matches nothing.
    expect((await merchants.updateOne({ _id: 'm7', installGeneration: 2 }, { $set: { status: 'active' } })).matchedCount).toBe(0);
    expect(await merchants.findOne({ _id: 'm7', installGeneration: 2 })).toBeNull();
    expect((await merchants.updateOne({ _id: 'm7', installGeneration: 1 }, { $set: { status: 'active' } })).matchedCount).toBe(1);
    expect(await merchants.findOne({ _id: 'm7', installGeneration: 1, status: 'active' })).toEqual({ _id: 'm7', installGeneration: 1, status: 'active' });
    expect(await merchants.findOneAndUpdate({ _id: 'm8', status: 'active' }, { $set: { installGeneration: 3 } })).toBeNull();
    expect((await merchants.deleteOne({ _id: 'm9', installGeneration: 5 })).deletedCount).toBe(0);
    expect(await merchants.countDocuments()).toBe(200);
  } finally {
    await conn.dropDatabase();
    await conn.close();
  }
});

test('without Go, a missing binary ends with a message naming the ways out', async () => {
  const saved = { PATH: process.env.PATH, cache: process.env.BIGCOMMERCE_LOYALTY_CACHE };
  process.env.PATH = tmp(); // no go, no temporal
  process.env.BIGCOMMERCE_LOYALTY_CACHE = tmp(); // nothing built
  try {
    const err = await resolveTemporalBinary(() => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingToolError);
    expect((err as Error).message).toMatch(/Go is not installed/);
    expect((err as Error).message).toMatch(/docker compose up/);
    expect((err as Error).message).toMatch(/TEMPORAL_ADDRESS/);
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.cache === undefined) delete process.env.BIGCOMMERCE_LOYALTY_CACHE;
    else process.env.BIGCOMMERCE_LOYALTY_CACHE = saved.cache;
  }
});

test('the dev server runs with the dynamic config of DEV_SERVER_DYNAMIC_CONFIG, or the one given', async () => {
  const cmdline = (pid: number | undefined) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const ours = await startTemporal({ uiPort: null, namespace: 'default', log: () => undefined });
  try {
    expect(cmdline(ours.child.pid)).toEqual(expect.arrayContaining(['--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000']));
  } finally {
    await ours.stop();
  }
  const defaults = await startTemporal({ uiPort: null, namespace: 'default', log: () => undefined, dynamicConfig: {} });
  try {
    expect(cmdline(defaults.child.pid)).not.toContain('--dynamic-config-value');
    const connection = await Connection.connect({ address: defaults.address });
    expect((await connection.workflowService.describeNamespace({ namespace: 'default' })).namespaceInfo?.name).toBe('default');
    await connection.close();
  } finally {
    await defaults.stop();
  }
});

test("the test suite's own dev server (global setup, started through the SDK) runs with DEV_SERVER_DYNAMIC_CONFIG too", () => {
  const port = new URL(`http://${process.env.TEST_TEMPORAL_ADDRESS}`).port;
  const devServers = readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        return []; // gone meanwhile, or not ours to read
      }
    })
    .filter((args) => args.includes('start-dev') && args[args.indexOf('--port') + 1] === port);
  expect(devServers).toHaveLength(1);
  expect(devServers[0]).toEqual(expect.arrayContaining(['--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000']));
});

test('a Temporal database left half-initialised by an interrupted first start is moved aside and the server starts', async () => {
  const dir = tmp();
  const dbFile = path.join(dir, 'temporal.db');
  writeFileSync(dbFile, ''); // exists, no schema: what a first start killed during setup leaves
  const said: string[] = [];
  const server = await startTemporal({ uiPort: null, namespace: 'default', dbFile, log: (l) => said.push(l) });
  try {
    expect(said.join('\n')).toMatch(/half-initialised/);
    expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['temporal.db', expect.stringMatching(/^temporal\.db\.incomplete-\d+$/)]));
    const connection = await Connection.connect({ address: server.address });
    const attrs = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(attrs.customAttributes ?? {})).toEqual(expect.arrayContaining(['MerchantId', 'StoreHash', 'BigCommerceOrderId']));
    await connection.close();
  } finally {
    await server.stop();
  }
});

/** A server on `port` of 127.0.0.1, as another process that takes a port after it was drawn free. */
async function squat(port: number): Promise<net.Server> {
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
  return squatter;
}

test('a gRPC port the caller chose that is in use: startTemporal says so at once, and starts nothing on another port', async () => {
  const port = await freePort();
  const squatter = await squat(port);
  const said: string[] = [];
  try {
    const started = Date.now();
    await expect(startTemporal({ port, uiPort: null, namespace: 'default', log: (l) => said.push(l) })).rejects.toThrow(`port ${port} is already in use`);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(said).toEqual([]);
  } finally {
    await new Promise((r) => squatter.close(r));
  }
});

test("Temporal's HTTP port drawn free but taken before the server binds it: the server is started again on other ports, once", async () => {
  const taken = await freePort();
  const squatter = await squat(taken);
  const draws: number[][] = [];
  const said: string[] = [];
  try {
    const server = await startTemporal({
      uiPort: null,
      namespace: 'default',
      log: (l) => said.push(l),
      // The first draw hands out the port another process has meanwhile taken; later draws are the real ones.
      drawPorts: async (count, except) => {
        const ports = draws.length === 0 ? [taken, ...(await freePorts(count - 1, [...except, taken]))] : await freePorts(count, [...except, taken]);
        draws.push(ports);
        return ports;
      },
    });
    try {
      expect(draws).toHaveLength(2);
      expect(said.filter((l) => l.includes(`port ${taken} was taken by another process`))).toHaveLength(1);
      expect(server.address).toBe(`127.0.0.1:${draws[1]![2]}`);
      expect(server.metricsUrl).toBe(`http://127.0.0.1:${draws[1]![1]}/metrics`);
      const connection = await Connection.connect({ address: server.address });
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      await connection.close();
    } finally {
      await server.stop();
    }
  } finally {
    await new Promise((r) => squatter.close(r));
  }
});

test("Temporal's ports taken on every draw: startTemporal gives up after three starts, with the server's own error", async () => {
  const taken = await freePort();
  const squatter = await squat(taken);
  let draws = 0;
  const said: string[] = [];
  try {
    await expect(
      startTemporal({
        uiPort: null,
        namespace: 'default',
        log: (l) => said.push(l),
        drawPorts: async (count, except) => {
          draws++;
          return [taken, ...(await freePorts(count - 1, [...except, taken]))];
        },
      }),
    ).rejects.toThrow(`listen tcp 127.0.0.1:${taken}: bind: address already in use`);
    expect(draws).toBe(3);
    expect(said.filter((l) => l.includes('was taken by another process'))).toHaveLength(2);
  } finally {
    await new Promise((r) => squatter.close(r));
  }
});

test("the tests' system: an API port drawn free but taken before the API binds it is drawn again", async () => {
  const port = await freePort();
  const squatter = await squat(port);
  try {
    const processes = await startProcesses(
      loadConfig({
        NODE_ENV: 'test',
        PORT: String(port),
        TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
        TEMPORAL_TASK_QUEUE: `port-retry-${port}`,
        MONGODB_URI: `${process.env.TEST_MONGODB_URL}/t_port_retry_${port}`,
        DASHBOARD_API_KEY: 'port-retry-test-key-0123456789',
        ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
        DATA_DIR: tmp(),
        LOG_LEVEL: 'silent',
      }),
    );
    try {
      expect(processes.config.PORT).not.toBe(port);
      expect((await fetch(`${processes.api}/healthz`)).status).toBe(200);
    } finally {
      await processes.stop({ dropDatabase: true });
    }
  } finally {
    await new Promise((r) => squatter.close(r));
  }
});
