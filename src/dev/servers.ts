import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes, searchAttributeFlags } from '../temporal/search-attributes';
import { resolveStoreBinary, resolveTemporalBinary } from './binaries';

/** A server this process started; `stop()` ends it (SIGTERM, then SIGKILL after a grace period). */
export interface ManagedServer {
  name: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/**
 * A port that is free right now, for a server to listen on.
 *
 * On Linux it is drawn at random below the kernel's ephemeral range
 * (`net.ipv4.ip_local_port_range`, 32768–60999 by default). A port found free
 * with `listen(0)` and closed again goes straight back to that range, where the
 * next `listen(0)` of any process may get it before our server binds it: the
 * Temporal CLI draws its HTTP API and internal service ports that way, and in
 * CI once drew the very port drawn here a moment before for its gRPC frontend
 * (both on 34039, "bind: address already in use"). The OS hands out no port
 * below that range, to a listener or to an outgoing connection. Two of our own
 * draws may still meet (about one chance in twenty thousand); `startTemporal`
 * then starts again on fresh ports. Elsewhere, or when the range leaves no room
 * below it, the OS's `listen(0)` answer.
 */
export async function freePort(except: readonly number[] = []): Promise<number> {
  const below = ephemeralRangeStart();
  if (below !== undefined && below > LOWEST_DRAWN_PORT + 1000) {
    for (let i = 0; i < 50; i++) {
      const port = LOWEST_DRAWN_PORT + Math.floor(Math.random() * (below - LOWEST_DRAWN_PORT));
      if (!except.includes(port) && (await isPortFree(port))) return port;
    }
  }
  for (;;) {
    const port = await osFreePort();
    if (!except.includes(port)) return port;
  }
}

/** `count` distinct free ports (see `freePort`), for a server that listens on several. */
export async function freePorts(count: number, except: readonly number[] = []): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) ports.push(await freePort([...except, ...ports]));
  return ports;
}

/** Well above the registered ports most services on a machine use. */
const LOWEST_DRAWN_PORT = 10_000;

function ephemeralRangeStart(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : undefined;
  } catch {
    return undefined;
  }
}

function osFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, host: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode} before listening on ${host}:${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function manage(name: string, child: ChildProcess): ManagedServer {
  let stopping: Promise<void> | undefined;
  return {
    name,
    child,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => (clearTimeout(kill), resolve()));
        child.kill('SIGTERM');
      });
      return stopping;
    },
  };
}

/**
 * On Linux the servers run under `setpriv --pdeathsig TERM`: should this
 * process die without stopping them (SIGKILL, a crash), the kernel sends them
 * SIGTERM, so no orphan keeps the ports. Elsewhere they are spawned directly.
 */
const SETPRIV = process.platform === 'linux' && existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : undefined;

function spawnServer(name: string, bin: string, args: string[], log: (line: string) => void): { child: ChildProcess; tail: string[] } {
  const child = SETPRIV
    ? spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (d: Buffer) => {
    tail.push(d.toString());
    if (tail.length > 50) tail.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', (code, signal) => {
    if (code && code !== 0) log(`${name} exited with code ${code}:\n${tail.join('').slice(-2000)}`);
    else if (signal && signal !== 'SIGTERM' && signal !== 'SIGKILL') log(`${name} ended by ${signal}`);
  });
  return { child, tail };
}

/**
 * The embedded servers' SQLite files (Temporal's and the store's) run in WAL mode
 * with synchronous=NORMAL: a committed write survives any crash of a process
 * (the contract's promise), and only an OS crash or power cut can lose the last
 * commits, which is also what a laptop's dev setup can afford. It spares an fsync
 * per commit. `EMBEDDED_SQLITE_SYNCHRONOUS=full` restores SQLite's defaults
 * (Temporal's rollback journal, fsync on every commit), e.g. to measure the difference.
 */
export function embeddedSqliteSynchronous(env: NodeJS.ProcessEnv = process.env): 'normal' | 'full' {
  return env.EMBEDDED_SQLITE_SYNCHRONOUS === 'full' ? 'full' : 'normal';
}

/**
 * Dynamic config the embedded dev server runs with (`--dynamic-config-value`),
 * under `npm start`, `npm run services`, the benches and the tests alike.
 *
 * `history.transferProcessorMaxPollRPS`: the tasks that carry a run forward
 * (a workflow task after a signal, a child's start and its first workflow
 * task, an activity, the parent's task when its child starts or ends) pass
 * through the history shard's transfer queue on their way to the worker, and
 * Temporal reads that queue at most 20 times a second per shard by default.
 * The dev server has a single shard, so every hop of an order that follows
 * another within 50 ms waited for the next read: an order alone took about
 * 150 ms from webhook to credit, 51 ms of it between a child's start and its
 * first task. Reading up to 1,000 times a second takes that to about 50 ms
 * (docs/performance.md, thirty-first session). The price: the events of a
 * merchant's orders no longer pile up behind the reads into shared merchant
 * tasks, so at 10 orders a second each order costs about 4 workflow tasks
 * instead of 2 and the server ~10 ms more CPU; under full load the CPU per
 * order did not move. Nothing about durability changes: the tasks are the
 * same rows, read sooner; an idle server does not read more often.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, number>> = {
  'history.transferProcessorMaxPollRPS': 1000,
};

/** `--dynamic-config-value KEY=JSON` for each of `values`. */
export function dynamicConfigArgs(values: Readonly<Record<string, number>> = DEV_SERVER_DYNAMIC_CONFIG): string[] {
  return Object.entries(values).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}

export interface TemporalOptions {
  /** The gRPC port; omitted: a free one is drawn (and drawn again should another process take it first). */
  port?: number;
  uiPort: number | null; // null: headless
  namespace: string;
  dbFile?: string;
  codecEndpoint?: string;
  log?: (line: string) => void;
  /** How the server's ports are drawn: `freePorts`, unless a test stands in for it. */
  drawPorts?: (count: number, except: readonly number[]) => Promise<number[]>;
  /** The server's dynamic config: `DEV_SERVER_DYNAMIC_CONFIG` unless given (a bench's baseline passes `{}`, Temporal's defaults). */
  dynamicConfig?: Readonly<Record<string, number>>;
}

/** Its gRPC port, and the HTTP API and metrics ports the CLI would otherwise draw from the ephemeral range (the server's own metrics: `metricsUrl`). */
interface TemporalPorts {
  grpc: number;
  http: number;
  metrics: number;
}

/**
 * Starts `temporal server start-dev` and registers the search attributes.
 *
 * The server's HTTP API and metrics ports are drawn here (`freePort`), not
 * left to the CLI, which draws them from the ephemeral range. Should one of
 * the drawn ports be taken by another process before the server binds it, the
 * server is started again on fresh ones (twice at most); a port the caller
 * chose is never changed.
 *
 * A database file whose schema setup was cut short (the very first start
 * interrupted) makes the server fail with "no such table" on every later
 * start: such a file is moved aside, kept, and the server started afresh.
 */
export async function startTemporal(opts: TemporalOptions): Promise<ManagedServer & { address: string; uiUrl?: string; metricsUrl: string }> {
  const log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
  // Else the wait for the server would meet whatever listens there, and time out talking to it.
  if (opts.port !== undefined && !(await isPortFree(opts.port))) throw new Error(`Temporal dev server did not start: port ${opts.port} is already in use`);
  let movedAside = false;
  for (let attempt = 1; ; attempt++) {
    const drawn = await (opts.drawPorts ?? freePorts)(opts.port === undefined ? 3 : 2, opts.port === undefined ? [] : [opts.port]);
    const [http, metrics, grpc = opts.port] = drawn as [number, number, number?];
    try {
      return await startTemporalOnce(opts, { grpc: grpc!, http, metrics });
    } catch (err) {
      const message = (err as Error).message;
      const taken = portTaken(message);
      if (taken !== undefined && drawn.includes(taken) && attempt < 3) {
        log(`Temporal's port ${taken} was taken by another process before the server bound it; starting it again on other ports`);
        continue;
      }
      if (movedAside || !opts.dbFile || !/no such table/i.test(message) || !existsSync(opts.dbFile)) throw err;
      const aside = `${opts.dbFile}.incomplete-${Date.now()}`;
      renameSync(opts.dbFile, aside);
      movedAside = true;
      log(`Temporal's database ${opts.dbFile} was left half-initialised by an interrupted first start; moved it to ${aside} and starting afresh`);
    }
  }
}

/** The port a server's "bind: address already in use" names, if that is what it said. */
export function portTaken(message: string): number | undefined {
  const m = /listen tcp [^\s]*:(\d+): bind: address already in use/.exec(message);
  return m ? Number(m[1]) : undefined;
}

async function startTemporalOnce(opts: TemporalOptions, ports: TemporalPorts): Promise<ManagedServer & { address: string; uiUrl?: string; metricsUrl: string }> {
  const log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
  const bin = await resolveTemporalBinary(log);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(ports.grpc), '--http-port', String(ports.http), '--metrics-port', String(ports.metrics)];
  args.push('--namespace', opts.namespace, '--log-level', 'warn');
  if (opts.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  if (opts.dbFile) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
    if (embeddedSqliteSynchronous() === 'normal') args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  if (opts.codecEndpoint) args.push('--ui-codec-endpoint', opts.codecEndpoint);
  for (const sa of searchAttributeFlags) args.push('--search-attribute', sa);
  args.push(...dynamicConfigArgs(opts.dynamicConfig));
  const { child, tail } = spawnServer('temporal', bin, args, log);
  const server = manage('temporal', child);
  try {
    await waitForPort(ports.grpc, '127.0.0.1', 60_000, child);
    const address = `127.0.0.1:${ports.grpc}`;
    const connection = await Connection.connect({ address, connectTimeout: 10_000 });
    try {
      await waitForNamespace(connection, opts.namespace);
      await ensureSearchAttributes(connection, opts.namespace);
    } finally {
      await connection.close();
    }
    if (opts.uiPort !== null) await waitForPort(opts.uiPort, '127.0.0.1', 30_000, child);
    return Object.assign(server, { address, uiUrl: opts.uiPort === null ? undefined : `http://127.0.0.1:${opts.uiPort}`, metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics` });
  } catch (err) {
    await server.stop();
    throw new Error(`Temporal dev server did not start: ${(err as Error).message}\n${tail.join('').slice(-2000)}`);
  }
}

async function waitForNamespace(connection: Connection, namespace: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export interface StoreOptions {
  port: number;
  dataDir: string;
  database?: string;
  log?: (line: string) => void;
}

/** Starts `mongod` if one is on PATH, else the FerretDB build; answers its URI. */
export async function startStore(opts: StoreOptions): Promise<ManagedServer & { uri: string; kind: string }> {
  const log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
  const store = await resolveStoreBinary(log);
  mkdirSync(opts.dataDir, { recursive: true });
  const args =
    store.kind === 'mongod'
      ? ['--dbpath', opts.dataDir, '--port', String(opts.port), '--bind_ip', '127.0.0.1', '--quiet']
      : [
          '--listen-addr',
          `127.0.0.1:${opts.port}`,
          '--sqlite-url',
          `file:${path.resolve(opts.dataDir)}/${embeddedSqliteSynchronous() === 'normal' ? '?_pragma=synchronous(normal)' : ''}`,
          '--log-level',
          'error',
        ];
  const { child, tail } = spawnServer(store.kind, store.path, args, log);
  const server = manage(store.kind, child);
  try {
    await waitForPort(opts.port, '127.0.0.1', 30_000, child);
  } catch (err) {
    await server.stop();
    throw new Error(`${store.kind} did not start: ${(err as Error).message}\n${tail.join('').slice(-2000)}`);
  }
  return Object.assign(server, { uri: `mongodb://127.0.0.1:${opts.port}/${opts.database ?? 'loyalty'}`, kind: store.kind });
}
