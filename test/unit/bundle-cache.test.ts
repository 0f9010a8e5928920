import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger } from '@temporalio/worker';
import { type BundleSources, workflowBundleFromSources, workflowSourcesKey } from '../../src/worker/bundle-cache';

/** A worker started from the sources bundles the workflows once per change of them (README, "Production": a compiled build). */
const ROOT = path.resolve(__dirname, '..', '..');
const quiet = new DefaultLogger('ERROR'); // webpack's report is not what these cases check

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'bc-bundle-cache-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

test('the key follows every source file, the dependency tree and tsconfig, and nothing else', () => {
  const root = path.join(tmp, 'project');
  cpSync(path.join(ROOT, 'src'), path.join(root, 'src'), { recursive: true });
  for (const f of ['package-lock.json', 'package.json', 'tsconfig.json']) cpSync(path.join(ROOT, f), path.join(root, f));
  const sources = path.join(root, 'src');
  const key = workflowSourcesKey(sources, root);
  expect(key).toMatch(/^[0-9a-f]{24}$/);
  expect(workflowSourcesKey(sources, root)).toBe(key); // the same files, the same key

  const changed = (file: string, edit: (text: string) => string) => {
    const before = readFileSync(file, 'utf8');
    writeFileSync(file, edit(before));
    const after = workflowSourcesKey(sources, root);
    writeFileSync(file, before);
    expect(workflowSourcesKey(sources, root)).toBe(key);
    return after;
  };
  // A workflow, a module the workflows import from elsewhere in src, the lock file, tsconfig: each its own key.
  const keys = [
    changed(path.join(sources, 'workflows', 'refund.ts'), (t) => `${t}\n// a comment\n`),
    changed(path.join(sources, 'ledger', 'points.ts'), (t) => t.replace('export', 'export ')),
    changed(path.join(root, 'package-lock.json'), (t) => t.replace('"lockfileVersion"', '"lockfileVersion" ')),
    changed(path.join(root, 'tsconfig.json'), (t) => `${t} `),
  ];
  expect(new Set([key, ...keys]).size).toBe(5);
  // A file added under the sources changes it too; a file elsewhere in the project does not.
  writeFileSync(path.join(sources, 'workflows', 'new.ts'), 'export {};\n');
  expect(workflowSourcesKey(sources, root)).not.toBe(key);
  rmSync(path.join(sources, 'workflows', 'new.ts'));
  writeFileSync(path.join(root, 'notes.md'), 'not a source\n');
  expect(workflowSourcesKey(sources, root)).toBe(key);
});

test('bundled once, then read from the cache; bundles of other sources are removed once an hour old', async () => {
  const cache = path.join(tmp, 'cache');
  // Other keys' bundles: one two hours old goes when a new bundle is written, one a minute old stays.
  const old = path.join(cache, 'workflow-bundle-000000000000000000000000.js');
  const recent = path.join(cache, 'workflow-bundle-111111111111111111111111.js');
  mkdirSync(cache);
  writeFileSync(old, '// old sources');
  writeFileSync(recent, '// other sources, just bundled by another process');
  const twoHoursAgo = (Date.now() - 2 * 3_600_000) / 1000;
  utimesSync(old, twoHoursAgo, twoHoursAgo);

  const first = await workflowBundleFromSources(quiet, cache);
  expect(first.from).toBe('webpack');
  expect(path.basename(first.codePath)).toBe(`workflow-bundle-${workflowSourcesKey()}.js`);
  const code = readFileSync(first.codePath, 'utf8');
  expect(code).toContain('merchantWorkflow');
  // The worker loads the workflows' modules and the failure converter once, shared by every run, not once per run.
  const preloaded = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(code)?.[1] ?? '';
  expect(preloaded).toContain('"./src/workflows/index.ts"');
  expect(preloaded).toContain('"./src/temporal/failure-converter.ts"');
  expect(readdirSync(cache).sort()).toEqual([path.basename(recent), path.basename(first.codePath)].sort());

  const again = await workflowBundleFromSources(quiet, cache);
  expect(again).toEqual({ codePath: first.codePath, from: 'cache' });
}, 60_000);

/** Where a bundle that is not kept goes: a file of this process. */
const processFile = path.join(os.tmpdir(), `bigcommerce-loyalty-workflow-bundle-${process.pid}.js`);

/** Sources whose key the case sets, bundled by a stand-in for webpack (the case above bundles for real). */
function standIn(key: string, duringBundle?: () => void): BundleSources & { bundles: number; now: string } {
  const sources = {
    now: key,
    bundles: 0,
    key: () => sources.now,
    bundle: async () => {
      sources.bundles++;
      duringBundle?.();
      return `// the workflows of ${sources.now}`;
    },
  };
  return sources;
}

test('a cache that cannot be written: the bundle goes to a file of this process, and nothing fails', async () => {
  const blocker = path.join(tmp, 'a-file');
  writeFileSync(blocker, 'not a directory');
  const bundle = await workflowBundleFromSources(quiet, path.join(blocker, 'cache'), standIn('a'.repeat(24)));
  expect(bundle).toEqual({ codePath: processFile, from: 'webpack, not kept' });
  expect(readFileSync(bundle.codePath, 'utf8')).toBe(`// the workflows of ${'a'.repeat(24)}`);
  rmSync(bundle.codePath);
});

test('sources saved while they are bundled: that bundle is not kept under the key of before, and the next start bundles them again', async () => {
  const cache = path.join(tmp, 'cache');
  mkdirSync(cache);
  const warnings: string[] = [];
  const logger = new DefaultLogger('WARN', (entry) => warnings.push(entry.message));
  const before = 'a'.repeat(24);
  const after = 'b'.repeat(24);
  const sources = standIn(before, () => {
    sources.now = after; // a file saved while webpack reads them
  });
  const first = await workflowBundleFromSources(logger, cache, sources);
  expect(first).toEqual({ codePath: processFile, from: 'webpack, not kept' });
  expect(warnings).toEqual([expect.stringContaining('sources changed while the workflows were bundled')]);
  rmSync(first.codePath);
  // Nothing under the key of before (to be found again if that file were put back), nor under the new one.
  expect(readdirSync(cache)).toEqual([]);

  const steady = standIn(after);
  const next = await workflowBundleFromSources(logger, cache, steady);
  expect(next).toEqual({ codePath: path.join(cache, `workflow-bundle-${after}.js`), from: 'webpack' });
  expect(steady.bundles).toBe(1);
  expect(readFileSync(next.codePath, 'utf8')).toBe(`// the workflows of ${after}`);
  expect(warnings).toHaveLength(1);
});
