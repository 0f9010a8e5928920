import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config';
import { MERCHANT_WORKFLOW_TASK_TIMEOUT_S } from '../../src/workflows/messages';
import { temporal } from '@temporalio/proto';
import { Keyring, seal } from '../../src/crypto';
import { AesGcmPayloadCodec } from '../../src/temporal/codec';
import { tempDir } from '../helpers/temp-dir';

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
      MERCHANT_TASK_TIMEOUT: MERCHANT_WORKFLOW_TASK_TIMEOUT_S, // what runs installed before it was settable hand on
    });
    expect(loadConfig({ ...base, MERCHANT_TASK_TIMEOUT: '10' }).MERCHANT_TASK_TIMEOUT).toBe(10);
  });
  test.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ ENCRYPTION_KEY: 'c2hvcnQ=' }, 'ENCRYPTION_KEY'],
    [{ MONGODB_URI: 'postgres://x' }, 'MONGODB_URI'],
    [{ TEMPORAL_ADDRESS: 'nohost' }, 'TEMPORAL_ADDRESS'],
    [{ PUBLIC_BASE_URL: 'ftp://x' }, 'PUBLIC_BASE_URL'],
    [{ MERCHANT_TASK_TIMEOUT: '5' }, 'MERCHANT_TASK_TIMEOUT: must be at least 10'],
    [{ MERCHANT_TASK_TIMEOUT: '121' }, 'MERCHANT_TASK_TIMEOUT: must be at most 120'],
  ])('a bad %j stops with a message naming %s', (env, name) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(new RegExp(name));
  });
  test('production requires the keys', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DASHBOARD_API_KEY[\s\S]*ENCRYPTION_KEY/);
  });
  test('development makes dev keys once under DATA_DIR and reuses them', () => {
    const dir = tempDir('cfg-');
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
    await expect(new AesGcmPayloadCodec(key).decode([enc!])).rejects.toThrow(/sealed with key \w+, which is neither ENCRYPTION_KEY/);
  });
  test('after a rotation, payloads of the old key are read with ENCRYPTION_OLD_KEYS; new ones use the new key', async () => {
    const oldKey = randomBytes(32).toString('base64');
    const payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"hello"') };
    const [old] = await new AesGcmPayloadCodec(oldKey).encode([payload]);
    const rotated = new AesGcmPayloadCodec(new Keyring(key, [oldKey]));
    expect(Buffer.from((await rotated.decode([old!]))[0]!.data!).toString()).toBe('"hello"');
    const [fresh] = await rotated.encode([payload]);
    expect(Buffer.from(fresh!.metadata!['encryption-key-id']!).toString()).toBe(new Keyring(key).current.id);
    await expect(new AesGcmPayloadCodec(oldKey).decode([fresh!])).rejects.toThrow(/neither ENCRYPTION_KEY/);
  });
  test('payloads sealed before sub-keys existed (the key itself, no scheme) still decode', async () => {
    const raw = Buffer.from(key, 'base64');
    const legacy = {
      metadata: { encoding: Buffer.from('binary/encrypted'), 'encryption-key-id': Buffer.from(new Keyring(key).current.id) },
      data: seal(raw, temporal.api.common.v1.Payload.encode({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"v1"') }).finish()),
    };
    expect(Buffer.from((await new AesGcmPayloadCodec(key).decode([legacy]))[0]!.data!).toString()).toBe('"v1"');
  });
});

describe('production safety', () => {
  const prod = { ...base, NODE_ENV: 'production' };
  test('an http PUBLIC_BASE_URL is refused, naming the variable', () => {
    expect(() => loadConfig({ ...prod, PUBLIC_BASE_URL: 'http://loyalty.example.com' })).toThrow(/PUBLIC_BASE_URL: must be an https URL/);
    expect(() => loadConfig(prod)).toThrow(/PUBLIC_BASE_URL/);
    expect(loadConfig({ ...prod, PUBLIC_BASE_URL: 'https://loyalty.example.com/' }).PUBLIC_BASE_URL).toBe('https://loyalty.example.com');
  });
  test('ENCRYPTION_OLD_KEYS: comma-separated keys, each validated', () => {
    const old = randomBytes(32).toString('base64');
    expect(loadConfig({ ...base, ENCRYPTION_OLD_KEYS: ` ${old} ,` }).ENCRYPTION_OLD_KEYS).toEqual([old]);
    expect(() => loadConfig({ ...base, ENCRYPTION_OLD_KEYS: 'c2hvcnQ=' })).toThrow(/ENCRYPTION_OLD_KEYS/);
  });
  test('worker caps: whole numbers, and at least the 2 workflow-task slots a sticky cache needs', () => {
    expect(loadConfig({ ...base, WORKER_MAX_WORKFLOW_TASKS: '2', WORKER_MAX_LOCAL_ACTIVITIES: '1' })).toMatchObject({ WORKER_MAX_WORKFLOW_TASKS: 2, WORKER_MAX_LOCAL_ACTIVITIES: 1 });
    expect(() => loadConfig({ ...base, WORKER_MAX_WORKFLOW_TASKS: '1' })).toThrow(/WORKER_MAX_WORKFLOW_TASKS/);
    expect(() => loadConfig({ ...base, WORKER_MAX_LOCAL_ACTIVITIES: '2.5' })).toThrow(/WORKER_MAX_LOCAL_ACTIVITIES/);
  });
  test('the worker\'s cache of runs: 0 (off) or at least 2, and not below the workflow tasks it runs at once', () => {
    expect(loadConfig(base).WORKER_MAX_CACHED_WORKFLOWS).toBeUndefined();
    expect(loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '5000' }).WORKER_MAX_CACHED_WORKFLOWS).toBe(5000);
    expect(loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '0', WORKER_MAX_WORKFLOW_TASKS: '8' }).WORKER_MAX_CACHED_WORKFLOWS).toBe(0);
    expect(() => loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '1' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS: must be 0 \(no cache\) or at least 2/);
    expect(() => loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: 'many' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS/);
    expect(() => loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '4', WORKER_MAX_WORKFLOW_TASKS: '8' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS: must be 0 or at least the workflow tasks a worker runs at once \(8, WORKER_MAX_WORKFLOW_TASKS\), got 4/);
    // Unset, the worker runs the SDK's 40 at once: a smaller cache is refused too, and 40 is enough.
    expect(() => loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '10' })).toThrow(/\(40, the SDK's default when WORKER_MAX_WORKFLOW_TASKS is unset\), got 10/);
    expect(loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '40' }).WORKER_MAX_CACHED_WORKFLOWS).toBe(40);
  });
  test('the codec endpoint: open to the dev UI in development, never anonymous in production', () => {
    expect(loadConfig(base).CODEC_ALLOWED_ORIGINS).toEqual(['http://127.0.0.1:8233', 'http://localhost:8233']);
    expect(loadConfig({ ...prod, PUBLIC_BASE_URL: 'https://x.example.com' }).CODEC_ALLOWED_ORIGINS).toEqual([]);
  });
});
