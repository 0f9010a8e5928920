import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, type Logger as SdkLogger } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../temporal/codec';

/** The sources the workflows are bundled from (`src/`, or `dist/` in a build) and the project's root. */
const SOURCES = path.resolve(__dirname, '..');
const ROOT = path.resolve(SOURCES, '..');
const WORKFLOWS = require.resolve('../workflows');
/** Where bundles made from sources are kept, by the key of what they were made from. */
export const BUNDLE_CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'bigcommerce-loyalty');

/**
 * Modules the worker loads once, shared by every run it keeps, instead of once
 * per run: the workflows (with what they import: the SDK's workflow API, the
 * points rules, the search attribute keys) and the failure converter. In the
 * SDK's reused V8 context each run otherwise evaluates its own copy of every
 * module it imports, a child per order included. With them shared, a run that
 * waits on a signal takes 51 KB of the workflow thread's heap instead of 87,
 * and the process 293-298 KB instead of 314-361; 1,000 merchants' runs held,
 * the process took 613-669 MB instead of 680-722 (docs/performance.md). The
 * CPU of a run's first task did not measurably change. The SDK deep-freezes
 * what it shares, and a module that kept state of a run at module level would
 * leak it into the others: these keep none (constants, pure functions,
 * definitions of signals and activities; each run's state lives in its
 * workflow function). A workflow module must stay so.
 */
const PRELOADED = [WORKFLOWS, FAILURE_CONVERTER_PATH];

/** The workflows bundled with webpack, as every bundle of this project is made (`npm run build` too). */
export async function bundleWorkflows(logger?: SdkLogger): Promise<string> {
  return (await bundleWorkflowCode({ workflowsPath: WORKFLOWS, failureConverterPath: FAILURE_CONVERTER_PATH, preloadModules: PRELOADED, ...(logger ? { logger } : {}) })).code;
}

/**
 * A key for everything a workflow bundle is made from: every file under the
 * sources (whatever the workflows import, and more), the exact dependency tree
 * (package-lock.json), tsconfig.json and the bundler's options. Any change to
 * one of them gives another key; reading them takes a few milliseconds.
 */
export function workflowSourcesKey(sources = SOURCES, root = ROOT): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ workflows: path.relative(root, WORKFLOWS), failureConverter: path.relative(root, FAILURE_CONVERTER_PATH), preloaded: PRELOADED.map((m) => path.relative(root, m)) }));
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) files.push(full);
    }
  };
  walk(sources);
  for (const extra of ['package-lock.json', 'package.json', 'tsconfig.json']) {
    try {
      if (statSync(path.join(root, extra)).isFile()) files.push(path.join(root, extra));
    } catch {
      // absent in this layout: not part of the key
    }
  }
  for (const file of files.sort()) {
    hash.update(`\0${path.relative(root, file)}\0`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 24);
}

/** What a cached bundle is made from: the key of the sources as they are now, and the bundler. */
export interface BundleSources {
  key(): string;
  bundle(logger?: SdkLogger): Promise<string>;
}
const THE_SOURCES: BundleSources = { key: () => workflowSourcesKey(), bundle: bundleWorkflows };

/**
 * The workflows bundled from the sources as they are now, from the cache when
 * a bundle of the same sources was made before (by `npm start`, `npm run
 * worker`, or the tests' setup), else bundled with webpack (2-3 s of CPU) and
 * kept for the next start. Writing a new one removes the other keys' bundles
 * that are more than an hour old (a process of other sources may still be
 * about to read its own). A bundle is kept only if the sources did not change
 * while it was made: webpack reads them after the key, so a file saved
 * meanwhile would otherwise leave a bundle of the new file under the old key,
 * to be run again if that file were put back. Such a bundle, and one that the
 * cache cannot take (a read-only tree), goes to a file of this process in the
 * system's temporary directory instead, and the start goes on.
 */
export async function workflowBundleFromSources(logger: SdkLogger, cacheDir = BUNDLE_CACHE_DIR, sources: BundleSources = THE_SOURCES): Promise<{ codePath: string; from: 'cache' | 'webpack' | 'webpack, not kept' }> {
  const key = sources.key();
  const file = path.join(cacheDir, `workflow-bundle-${key}.js`);
  try {
    if (statSync(file).isFile()) return { codePath: file, from: 'cache' };
  } catch {
    // not bundled yet
  }
  const code = await sources.bundle(logger);
  const ownFile = () => {
    const own = path.join(os.tmpdir(), `bigcommerce-loyalty-workflow-bundle-${process.pid}.js`);
    writeFileSync(own, code);
    return { codePath: own, from: 'webpack, not kept' as const };
  };
  if (sources.key() !== key) {
    logger.warn('The sources changed while the workflows were bundled: this bundle is not kept, the next start bundles them again');
    return ownFile();
  }
  try {
    mkdirSync(cacheDir, { recursive: true });
    // Written aside, then renamed: a process starting meanwhile sees the whole bundle or none.
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  } catch {
    return ownFile();
  }
  const anHourAgo = Date.now() - 3_600_000;
  for (const name of readdirSync(cacheDir)) {
    if (!name.startsWith('workflow-bundle-') || name === path.basename(file)) continue;
    const other = path.join(cacheDir, name);
    try {
      if (statSync(other).mtimeMs < anHourAgo) rmSync(other, { force: true });
    } catch {
      // removed meanwhile by another process
    }
  }
  return { codePath: file, from: 'webpack' };
}
