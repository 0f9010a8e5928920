import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Pinned versions of the embedded servers (CONTRACT §1, TEMPORAL.md). */
export const TEMPORAL_CLI_VERSION = '1.5.1';
export const FERRETDB_VERSION = '1.24.2';
/**
 * Two corrections the build makes to FerretDB 1.24's SQLite handler, in a copy of
 * its module (nothing of FerretDB's is copied into this repo):
 *
 * - It looks `_id` up with the expression `_ferretdb_sjson->'$._id'`, while the
 *   unique index it creates on `_id` is on `_ferretdb_sjson->"_id"`. SQLite matches
 *   index expressions by their text, so every find, update and delete by `_id`
 *   scanned the whole collection (26 ms at 100,000 documents, growing with the
 *   table). The constant is rewritten to the index's expression (the same JSON
 *   path: a bare label X means `$.X`).
 * - It hands SQLite the `_id` of a filter only when `_id` is the filter's one key,
 *   so a fenced write of a merchant's record (`{_id, installGeneration}`: each
 *   install, status and reconciliation the workflow records) read the whole
 *   merchants collection: installing 990 merchants after 10 took 832 s, FerretDB
 *   a full core throughout (318–365 s in four runs since). Top-level keys of a filter all hold
 *   at once, and FerretDB applies the whole filter again to what SQLite returns
 *   (its handlers always do: pushdown only narrows), so `_id` alone may narrow any
 *   filter that names one. `Map()` rather than `Get`: it is nil-safe, and does not
 *   panic on a key given twice (such a filter is still applied whole afterwards).
 */
const FERRETDB_FIXES = [
  { file: 'internal/backends/sqlite/metadata/metadata.go', from: `IDColumn = DefaultColumn + "->'$._id'"`, to: `IDColumn = DefaultColumn + "->'_id'"`, times: 1 },
  { file: 'internal/backends/sqlite/collection.go', from: 'if params.Filter.Len() == 1 {\n\t\tv, _ := params.Filter.Get("_id")', to: '{\n\t\tv := params.Filter.Map()["_id"]', times: 2 },
];
const FERRETDB_BUILD = `${FERRETDB_VERSION}-id-pushdown`;

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Built binaries live outside the repo, keyed by version, and are reused by every clone. */
export function cacheRoot(): string {
  const base = process.env.BIGCOMMERCE_LOYALTY_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'bigcommerce-loyalty');
  return path.resolve(base);
}

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate) && spawnSync(candidate, ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0) return candidate;
  }
  return undefined;
}

export class MissingToolError extends Error {
  override readonly name = 'MissingToolError';
}

type Say = (line: string) => void;
const defaultSay: Say = (line) => process.stderr.write(`${line}\n`);

/** Temporal CLI: a `temporal` on PATH, else the cached build, else `go install` it once. */
export async function resolveTemporalBinary(say: Say = defaultSay): Promise<string> {
  const onPath = findOnPath('temporal');
  if (onPath) return onPath;
  const target = path.join(cacheRoot(), `temporal-cli-${TEMPORAL_CLI_VERSION}`, 'temporal');
  if (existsSync(target)) return target;
  await goInstall({
    what: `Temporal CLI v${TEMPORAL_CLI_VERSION}`,
    args: ['install', '-ldflags', `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`, `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`],
    cwd: os.tmpdir(),
    binary: 'temporal',
    target,
    say,
    variable: 'TEMPORAL_ADDRESS',
  });
  return target;
}

export type StoreBinary = { kind: 'mongod' | 'ferretdb'; path: string };

/**
 * The store: a `mongod` on PATH, else FerretDB v1 (SQLite handler) built once
 * from tools/ferretdb, a pinned wrapper around FerretDB's embeddable package.
 */
export async function resolveStoreBinary(say: Say = defaultSay): Promise<StoreBinary> {
  const mongod = findOnPath('mongod');
  if (mongod) return { kind: 'mongod', path: mongod };
  const target = path.join(cacheRoot(), `ferretdb-${FERRETDB_BUILD}`, 'ferretdb');
  if (!existsSync(target)) {
    const cwd = path.join(REPO_ROOT, 'tools', 'ferretdb');
    const modfile = ferretdbPatchedModfile(cwd, path.dirname(target));
    await goInstall({
      what: `FerretDB v${FERRETDB_VERSION}`,
      args: ['install', '-trimpath', ...(modfile ? [`-modfile=${modfile}`] : []), '.'],
      cwd,
      binary: 'ferretdb',
      target,
      say,
      variable: 'MONGODB_URI',
    });
  }
  return { kind: 'ferretdb', path: target };
}

/**
 * A copy of FerretDB's module with FERRETDB_FIXES applied, and a go.mod
 * (used through -modfile) that replaces the module with it. Go refuses overlays of
 * files in the module cache, hence the copy, made in the build's cache directory.
 * Refuses if the source is not the one expected.
 */
function ferretdbPatchedModfile(cwd: string, dir: string): string | null {
  const go = (...args: string[]) => {
    const r = spawnSync('go', args, { cwd, env: process.env, encoding: 'utf8' });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (r.status !== 0) throw new Error(`go ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  if (go('mod', 'download', 'github.com/FerretDB/FerretDB') === null) return null; // goInstall explains the missing Go
  const moduleDir = go('list', '-m', '-f', '{{.Dir}}', 'github.com/FerretDB/FerretDB');
  if (!moduleDir) throw new Error('go list found no directory for github.com/FerretDB/FerretDB');
  const copy = path.join(dir, 'ferretdb-module');
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(moduleDir, copy, { recursive: true });
  spawnSync('chmod', ['-R', 'u+w', copy]); // the module cache is read-only; the copy must be removable
  for (const fix of FERRETDB_FIXES) {
    const file = path.join(copy, fix.file);
    chmodSync(file, 0o644);
    const source = readFileSync(file, 'utf8');
    if (source.split(fix.from).length !== fix.times + 1) {
      throw new Error(`${file} does not hold \`${fix.from}\` exactly ${fix.times} time(s): the build's corrections need revisiting for this FerretDB version`);
    }
    writeFileSync(file, source.replaceAll(fix.from, fix.to));
  }
  const modfile = path.join(dir, 'build.mod');
  writeFileSync(modfile, `${readFileSync(path.join(cwd, 'go.mod'), 'utf8')}\nreplace github.com/FerretDB/FerretDB v${FERRETDB_VERSION} => ${copy}\n`);
  cpSync(path.join(cwd, 'go.sum'), path.join(dir, 'build.sum'));
  return modfile;
}

interface GoInstall {
  what: string;
  args: string[];
  cwd: string;
  binary: string;
  target: string;
  say: Say;
  variable: string;
}

async function goInstall({ what, args, cwd, binary, target, say, variable }: GoInstall): Promise<void> {
  const missingGo = () =>
    new MissingToolError(
      [
        `Cannot build ${what}: Go is not installed (needed once, to build the embedded server).`,
        'Any of these fixes it:',
        '  - install Go 1.25 or newer (https://go.dev/dl/) and run the command again;',
        '  - run everything in containers instead: docker compose up;',
        `  - point ${variable} at a server that is already running.`,
      ].join('\n'),
    );
  if (spawnSync('go', ['version'], { stdio: 'ignore', env: process.env }).status !== 0) throw missingGo();
  mkdirSync(path.dirname(target), { recursive: true });
  // Build into a private directory, then rename: a half-built binary is never visible.
  const gobin = mkdtempSync(path.join(path.dirname(target), '.build-'));
  const started = Date.now();
  say(`building ${what} with go install, first run only (a few minutes on two cores)…`);
  const heartbeat = setInterval(() => say(`  …still building ${what} (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
  try {
    const output: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('go', args, { cwd, env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
      child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
      child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? missingGo() : err));
      child.on('close', resolve);
    });
    if (code !== 0) throw new Error(`go ${args.join(' ')} failed (exit ${code}):\n${output.join('').slice(-4000)}`);
    renameSync(path.join(gobin, binary), target);
    say(`built ${what} in ${Math.round((Date.now() - started) / 1000)} s → ${target}`);
  } finally {
    clearInterval(heartbeat);
    rmSync(gobin, { recursive: true, force: true });
  }
}

/** The Java time-skipping test server (TEMPORAL.md), for workflow tests of timers that last days. */
export const TEMPORAL_TEST_SERVER_VERSION = '1.31.0';
/**
 * SLF4J's binding that logs nothing, at the version of the `slf4j-api` that test
 * server depends on: without a binding, SLF4J prints three lines of warning on
 * every start of the server, into the test report.
 */
const SLF4J_NOP_VERSION = '1.7.36';

/**
 * A launcher for `io.temporal:temporal-test-server`, fetched once from Maven
 * Central with Maven into the cache, for the SDK's `existing-path` executable
 * (`<launcher> <port>`). The launcher `exec`s java so the SDK's SIGKILL reaches the JVM.
 */
export async function resolveTestServer(say: Say = defaultSay): Promise<string> {
  const dir = path.join(cacheRoot(), `temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}-slf4j-nop-${SLF4J_NOP_VERSION}`);
  const launcher = path.join(dir, 'test-server');
  if (existsSync(launcher)) return launcher;
  for (const tool of ['java', 'mvn']) {
    if (spawnSync(tool, ['-version'], { stdio: 'ignore' }).status !== 0) {
      throw new MissingToolError(`Cannot fetch the Temporal test server: ${tool} is not installed (Debian: apt-get install default-jdk-headless maven).`);
    }
  }
  mkdirSync(path.dirname(dir), { recursive: true });
  const work = mkdtempSync(path.join(path.dirname(dir), '.fetch-'));
  try {
    writeFileSync(
      path.join(work, 'pom.xml'),
      `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>local</groupId><artifactId>temporal-test-server-launcher</artifactId><version>1</version>
<dependencies><dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId><version>${TEMPORAL_TEST_SERVER_VERSION}</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>${SLF4J_NOP_VERSION}</version></dependency></dependencies>
</project>\n`,
    );
    say(`fetching the Temporal test server ${TEMPORAL_TEST_SERVER_VERSION} with Maven, first run only…`);
    const started = Date.now();
    const run = spawnSync('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${path.join(work, 'lib')}`], { cwd: work, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed (exit ${run.status}):\n${`${run.stdout}${run.stderr}`.slice(-4000)}`);
    writeFileSync(path.join(work, 'test-server'), `#!/bin/sh\nexec java -cp '${path.join(dir, 'lib')}/*' io.temporal.testserver.TestServer "$@"\n`, { mode: 0o755 });
    try {
      renameSync(work, dir);
    } catch (err) {
      if (!existsSync(launcher)) throw err; // else another process fetched it meanwhile
    }
    say(`fetched the Temporal test server in ${Math.round((Date.now() - started) / 1000)} s → ${dir}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return launcher;
}
