import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { AesGcmPayloadCodec } from '../../src/temporal/codec';

const key = randomBytes(32).toString('base64');
const base = { DASHBOARD_API_KEY: 'a-dashboard-key-of-length', ENCRYPTION_KEY: key };

describe('config', () => {
  test('defaults follow the contract', () => {
    const c = loadConfig({ ...base });
    expect(c).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'bigcommerce-loyalty',
      MONGODB_URI: 'mongodb://127.0.0.1:27017/loyalty',
      PUBLIC_BASE_URL: 'http://127.0.0.1:3000',
      BIGCOMMERCE_API_ORIGIN: 'https://api.bigcommerce.com',
      NODE_ENV: 'development',
    });
  });
  test.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ ENCRYPTION_KEY: 'c2hvcnQ=' }, 'ENCRYPTION_KEY'],
    [{ MONGODB_URI: 'postgres://x' }, 'MONGODB_URI'],
    [{ TEMPORAL_ADDRESS: 'nohost' }, 'TEMPORAL_ADDRESS'],
    [{ PUBLIC_BASE_URL: 'ftp://x' }, 'PUBLIC_BASE_URL'],
  ])('a bad %j stops with a message naming %s', (env, name) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(new RegExp(name));
  });
  test('production requires the keys', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DASHBOARD_API_KEY[\s\S]*ENCRYPTION_KEY/);
  });
  test('development makes dev keys once under DATA_DIR and reuses them', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const a = loadConfig({ DATA_DIR: dir });
    const b = loadConfig({ DATA_DIR: dir });
    expect(a.DASHBOARD_API_KEY).toBe(b.DASHBOARD_API_KEY);
    expect(Buffer.from(a.ENCRYPTION_KEY, 'base64')).toHaveLength(32);
  });
});

describe('payload codec', () => {
  test('round-trips and leaves no plaintext', async () => {
    const codec = new AesGcmPayloadCodec(key);
    const payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"accessToken":"s3cret-token"}') };
    const [enc] = await codec.encode([payload]);
    expect(Buffer.from(enc!.data!).toString('latin1')).not.toContain('s3cret');
    const [dec] = await codec.decode([enc!]);
    expect(Buffer.from(dec!.data!).toString()).toBe('{"accessToken":"s3cret-token"}');
  });
  test('refuses a payload encrypted under another key, by key id', async () => {
    const [enc] = await new AesGcmPayloadCodec(randomBytes(32).toString('base64')).encode([{ metadata: {}, data: Buffer.from('x') }]);
    await expect(new AesGcmPayloadCodec(key).decode([enc!])).rejects.toThrow(/encrypted with key/);
  });
});
