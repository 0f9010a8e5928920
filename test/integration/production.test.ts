import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { closeServer, startApi } from '../../src/api/server';
import { loadConfig } from '../../src/config';
import { freePort } from '../../src/dev/servers';
import { logger } from '../../src/logger';
import { startSystem, type System } from '../helpers/system';
import { childEnv } from '../helpers/worker-process';

/** NODE_ENV=production turns the dev conveniences off (CONTRACT §2, §5). */
let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

const root = path.resolve(__dirname, '..', '..');
const prodEnv = (extra: Record<string, string> = {}) => ({ ...sys.env, NODE_ENV: 'production', LOG_LEVEL: 'error', ...extra });

test('the production api refuses an http PUBLIC_BASE_URL: exit 1, naming the variable', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    cwd: root,
    env: childEnv(prodEnv({ PUBLIC_BASE_URL: 'http://loyalty.example.com' })),
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr + run.stdout).toMatch(/PUBLIC_BASE_URL: must be an https URL when NODE_ENV=production/);
});

test('in production the codec endpoint never answers an anonymous caller; with CODEC_API_KEY it decodes for its bearer only', async () => {
  const decode = (port: number, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${port}/codec/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers }, body: '{"payloads":[]}' });
  for (const [extra, expectations] of [
    [{}, { anonymous: 401, bearer: 401 }],
    [{ CODEC_API_KEY: 'codec-key-0123456789' }, { anonymous: 401, bearer: 200 }],
  ] as const) {
    const config = loadConfig(prodEnv({ PUBLIC_BASE_URL: 'https://loyalty.example.com', PORT: String(await freePort()), ...extra }));
    const server = await startApi({ config, client: sys.client, store: sys.store, logger });
    try {
      const anonymous = await decode(config.PORT);
      expect(anonymous.status).toBe(expectations.anonymous);
      expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      expect((await decode(config.PORT, { Authorization: 'Bearer codec-key-0123456789' })).status).toBe(expectations.bearer);
      // CORS: only configured origins (none by default in production).
      const preflight = await fetch(`http://127.0.0.1:${config.PORT}/codec/decode`, { method: 'OPTIONS', headers: { Origin: 'http://127.0.0.1:8233' } });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await closeServer(server);
    }
  }
});
