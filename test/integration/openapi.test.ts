import { spawnSync } from 'node:child_process';
import Ajv2020 from 'ajv/dist/2020';
import { startSystem, type System, waitFor } from '../helpers/system';

/** `/openapi.json` describes every route of CONTRACT §3, validates as OpenAPI 3.1, and real answers match it. */
let sys: System;
let doc: any; // eslint-disable-line @typescript-eslint/no-explicit-any
beforeAll(async () => {
  sys = await startSystem();
  const res = await fetch(`${sys.api}/openapi.json`); // no bearer needed
  expect(res.status).toBe(200);
  doc = await res.json();
});
afterAll(async () => {
  await sys?.stop();
});

test('the document validates as OpenAPI 3.1', () => {
  // @seriousme/openapi-schema-validator is ESM-only: it runs in a child node process.
  const script = `import { Validator } from '@seriousme/openapi-schema-validator';
    let text = ''; for await (const chunk of process.stdin) text += chunk;
    const result = await new Validator().validate(JSON.parse(text));
    process.stdout.write(JSON.stringify(result));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(doc), encoding: 'utf8', cwd: __dirname });
  expect(run.stderr).toBe('');
  const result = JSON.parse(run.stdout) as { valid: boolean; errors?: unknown };
  expect(result.errors).toBeUndefined();
  expect(result.valid).toBe(true);
  expect(doc.openapi).toBe('3.1.0');
});

test('every route of the contract is in it', () => {
  const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  expect(routes.sort()).toEqual(
    [
      'PUT /api/merchants/{merchantId}/bigcommerce',
      'GET /api/merchants/{merchantId}/bigcommerce',
      'DELETE /api/merchants/{merchantId}/bigcommerce',
      'POST /api/merchants/{merchantId}/bigcommerce/imports',
      'GET /api/merchants/{merchantId}/bigcommerce/imports/{importId}',
      'GET /api/merchants/{merchantId}/contacts',
      'GET /api/merchants/{merchantId}/contacts/{contactId}/transactions',
      'POST /api/merchants/{merchantId}/contacts/{contactId}/redemptions',
      'GET /api/merchants/{merchantId}/redemptions/{redemptionId}',
      'POST /webhooks/bigcommerce/{merchantId}',
      'GET /healthz',
      'GET /readyz',
    ].sort(),
  );
});

test('real answers validate against the document', async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('date-time', { validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  ajv.addSchema({ $id: 'openapi', components: doc.components });
  const rewrite = (s: unknown): unknown =>
    JSON.parse(JSON.stringify(s).replace(/"#\/components\//g, '"openapi#/components/'));
  const checked: string[] = [];
  async function check(method: string, route: string, path: string, body?: unknown) {
    const res = await sys.request(method, path, body);
    const schema = doc.paths[route]?.[method.toLowerCase()]?.responses?.[String(res.status)]?.content?.['application/json']?.schema;
    expect({ route, method, status: res.status, described: schema !== undefined }).toMatchObject({ described: true });
    const validate = ajv.compile(rewrite(schema) as object);
    const ok = validate(res.body);
    expect({ route, status: res.status, errors: validate.errors ?? null, body: res.body }).toMatchObject({ errors: null });
    expect(ok).toBe(true);
    checked.push(`${method} ${route} ${res.status}`);
    return res;
  }

  const id = `oas-${Math.random().toString(36).slice(2, 8)}`;
  const account = sys.newStore();
  const m = '/api/merchants/{merchantId}/bigcommerce';
  await check('PUT', m, `/api/merchants/${id}/bigcommerce`, { apiPath: account.apiPath, accessToken: account.accessToken, clientId: account.clientId });
  await waitFor(async () => ((await sys.state(id)).body.status === 'active' ? true : undefined), 30_000, 'active');
  await check('GET', m, `/api/merchants/${id}/bigcommerce`);
  await check('PUT', m, `/api/merchants/${id}/bigcommerce`, { apiPath: 'nope' });
  const other = sys.newStore();
  const mismatch = await check('PUT', m, `/api/merchants/${id}/bigcommerce`, { apiPath: other.apiPath, accessToken: other.accessToken, clientId: other.clientId });
  expect(mismatch.status).toBe(409);
  await check('GET', m, '/api/merchants/never-installed/bigcommerce');

  sys.sandbox.createOrder(account.storeHash, { totalIncTax: '50.0000', email: 'o@example.com' });
  const contact = await sys.balanceWhen(id, 'o@example.com', 50);
  await check('GET', '/api/merchants/{merchantId}/contacts', `/api/merchants/${id}/contacts?email=o@example.com`);
  await check('GET', '/api/merchants/{merchantId}/contacts/{contactId}/transactions', `/api/merchants/${id}/contacts/${contact.id}/transactions?limit=5`);

  const imp = await check('POST', '/api/merchants/{merchantId}/bigcommerce/imports', `/api/merchants/${id}/bigcommerce/imports`, { since: new Date(Date.now() - 86_400_000).toISOString() });
  await check('GET', '/api/merchants/{merchantId}/bigcommerce/imports/{importId}', `/api/merchants/${id}/bigcommerce/imports/${imp.body.importId}`);
  await check('POST', '/api/merchants/{merchantId}/bigcommerce/imports', `/api/merchants/${id}/bigcommerce/imports`, { since: 'later' });

  const r = '/api/merchants/{merchantId}/contacts/{contactId}/redemptions';
  await check('POST', r, `/api/merchants/${id}/contacts/${contact.id}/redemptions`, { redemptionId: 'oas-1', points: 10, reward: { type: 'percent_off', percent: 10 } });
  await check('POST', r, `/api/merchants/${id}/contacts/${contact.id}/redemptions`, { redemptionId: 'oas-2', points: 1_000, reward: { type: 'free_shipping' } });
  await waitFor(async () => ((await sys.request('GET', `/api/merchants/${id}/redemptions/oas-1`)).body.status === 'issued' ? true : undefined), 30_000, 'issued');
  await check('GET', '/api/merchants/{merchantId}/redemptions/{redemptionId}', `/api/merchants/${id}/redemptions/oas-1`);

  await check('POST', '/webhooks/bigcommerce/{merchantId}', `/webhooks/bigcommerce/${id}`, { scope: 'store/order/created', hash: 'x', data: { id: 1 } });
  await check('GET', '/healthz', '/healthz');
  await check('GET', '/readyz', '/readyz');
  await check('DELETE', m, `/api/merchants/${id}/bigcommerce`);
  expect(checked.length).toBeGreaterThanOrEqual(16);
});

test('/docs renders the document for people, from assets served here', async () => {
  const page = await fetch(`${sys.api}/docs`);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('/openapi.json');
  const script = await fetch(`${sys.api}/docs/assets/swagger-ui-bundle.js`);
  expect(script.status).toBe(200);
  expect((await script.text()).length).toBeGreaterThan(100_000);
});
