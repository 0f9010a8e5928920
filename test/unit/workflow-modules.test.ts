import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The worker loads the workflows' modules once and shares them between its runs
 * (src/worker/bundle-cache.ts, the SDK's preloadModules): state kept at a
 * module's top level would pass from one run to another, a merchant's into
 * another merchant's. So no module of ours in the workflow bundle may declare
 * a variable that can be reassigned, or a collection, at its top level.
 */
const ROOT = path.resolve(__dirname, '..', '..');

/** Our modules in the bundle the tests run (test/setup/global-setup.ts makes it as the worker does). */
function bundledSources(): string[] {
  const code = readFileSync(process.env.TEST_WORKFLOW_BUNDLE!, 'utf8');
  return [...new Set(code.match(/"\.\/src\/[^"]+\.ts"/g)?.map((m) => m.slice(7, -1)))].sort();
}

const COLLECTIONS = new Set(['Map', 'Set', 'WeakMap', 'WeakSet', 'Array']);

/** What at the top level of `file` could hold a run's state: `let` and `var`, and collections however declared. */
function topLevelState(file: string, text = readFileSync(path.join(ROOT, 'src', file), 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const where = (node: ts.Node) => `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const list = statement.declarationList;
    const constant = (list.flags & ts.NodeFlags.Const) !== 0;
    for (const d of list.declarations) {
      const init = d.initializer;
      if (!constant) found.push(`${where(d)} ${d.name.getText(source)} (let/var)`);
      else if (init && ts.isNewExpression(init) && COLLECTIONS.has(init.expression.getText(source))) found.push(`${where(d)} ${d.name.getText(source)} (new ${init.expression.getText(source)})`);
      else if (init && ts.isArrayLiteralExpression(init) && init.elements.length === 0) found.push(`${where(d)} ${d.name.getText(source)} (an empty array)`);
    }
  }
  return found;
}

test('the bundle holds our workflow modules, and none of them keeps state at its top level', () => {
  const files = bundledSources();
  expect(files).toEqual(expect.arrayContaining(['workflows/merchant.ts', 'workflows/order.ts', 'ledger/points.ts', 'temporal/failure-converter.ts']));
  expect(files.flatMap((f) => topLevelState(f))).toEqual([]);
});

test('the check finds state at a top level, not constants nor state inside a function', () => {
  const stateful = [
    'let counter = 0;',
    'const seen = new Set<number>();',
    'export const queue: number[] = [];',
    "const LIMIT = 5_000; export const KINDS = ['a', 'b']; export const id = (n: number) => `x:${n}`;",
    'export async function run() { let n = 0; const held = new Map(); n++; return held.size + n; }',
    'var legacy;',
  ].join('\n');
  expect(topLevelState('stateful.ts', stateful)).toEqual(['stateful.ts:1 counter (let/var)', 'stateful.ts:2 seen (new Set)', 'stateful.ts:3 queue (an empty array)', 'stateful.ts:6 legacy (let/var)']);
});
