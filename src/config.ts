import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { Keyring } from './crypto';

/** The environment of CONTRACT §2, validated once at start-up. */
const port = z.coerce.number().int().min(1).max(65535);
const base64Key = z
  .string()
  .refine((s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s, 'base64').length === 32, 'must be base64 of exactly 32 bytes');
const httpUrl = z.url({ protocol: /^https?$/ });

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  TEMPORAL_ADDRESS: z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
  TEMPORAL_PROFILE: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('bigcommerce-loyalty'),
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URI').default('mongodb://127.0.0.1:27017/loyalty'),
  PUBLIC_BASE_URL: httpUrl.optional(),
  BIGCOMMERCE_API_ORIGIN: httpUrl.default('https://api.bigcommerce.com'),
  DASHBOARD_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  ENCRYPTION_KEY: base64Key.optional(),
  /** Earlier ENCRYPTION_KEYs, comma-separated: still read (sealed credentials, Temporal payloads) after a rotation. */
  ENCRYPTION_OLD_KEYS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((k) => k.trim()).filter(Boolean))
    .pipe(z.array(base64Key)),
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Not in the contract: the merchant workflow continues-as-new past this many history events (contract bound: 10,000). */
  MERCHANT_HISTORY_LIMIT: z.coerce.number().int().min(100).max(9_000).default(5_000),
  /**
   * Not in the contract: the merchant workflow's task timeout in seconds, set when a merchant is
   * installed (a running merchant keeps its own across continue-as-new). What a task lost with a
   * crashed worker waits before another worker takes it; long enough to replay a whole run.
   */
  MERCHANT_TASK_TIMEOUT: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int('must be whole seconds')
    .min(10, 'must be at least 10 (Temporal’s default)')
    .max(120, 'must be at most 120 (Temporal’s limit)')
    .default(60), // = MERCHANT_WORKFLOW_TASK_TIMEOUT_S (workflows/messages.ts; a unit test holds them equal)
  /** Bearer key of the codec endpoint in production (the Temporal UI's codec server); unset there, the endpoint refuses everyone. */
  CODEC_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Browser origins allowed to call the codec endpoint (CORS), comma-separated; outside production the dev UI's by default. */
  CODEC_ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((s) => (s === undefined ? undefined : s.split(',').map((o) => o.trim()).filter(Boolean)))
    .pipe(z.array(z.url({ error: 'each must be an origin like https://ui.example.com' })).optional()),
  /** Where the process serves Prometheus text at GET /metrics; 0 turns it off (default: api 9464, worker 9465). */
  METRICS_PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).optional(),
  /** Seconds between two reconciliations of one merchant (CONTRACT §4 rule 8). */
  RECONCILE_INTERVAL: z.coerce.number({ error: 'must be a number of seconds' }).int('must be whole seconds').min(5, 'must be at least 5').default(900),
  /**
   * Workflow tasks and local activities (an order's fetch and credit) a worker runs at once;
   * unset, the SDK's defaults. Lower values leave cores to the API on a shared machine.
   */
  // The SDK refuses fewer than 2 with a sticky workflow cache (one slot for the sticky queue, one for the normal one).
  WORKER_MAX_WORKFLOW_TASKS: z.coerce.number({ error: 'must be a whole number' }).int().min(2).optional(),
  WORKER_MAX_LOCAL_ACTIVITIES: z.coerce.number({ error: 'must be a whole number' }).int().min(1).optional(),
  /**
   * Runs a worker keeps in memory between their tasks (the SDK's sticky cache); unset, the SDK's
   * default from the heap limit. A run out of it replays its whole history at its next task: keep
   * it above the merchants a worker serves (README, Configuration). 0 turns the cache off.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(0)
    .refine((n) => n !== 1, 'must be 0 (no cache) or at least 2')
    .optional(),
  /** A worker in the API's process (`npm start`) takes fewer tasks while webhooks arrive (worker/ingest-first.ts). */
  WORKER_YIELDS_TO_INGEST: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** The largest share of a store's rate-limit quota one worker process uses in a window (rule 10). */
  RATE_LIMIT_SHARE: z.coerce.number({ error: 'must be a number' }).gt(0, 'must be above 0').max(1, 'must be at most 1').default(0.8),
});

/** Workflow tasks a worker runs at once when WORKER_MAX_WORKFLOW_TASKS is unset: the SDK's default. */
export const SDK_DEFAULT_WORKFLOW_TASKS = 40;

/** The dev Temporal UI (CONTRACT §1: port 8233), allowed to call the codec endpoint outside production. */
export const DEV_UI_ORIGINS = ['http://127.0.0.1:8233', 'http://localhost:8233'];

/** The variables `loadConfig` reads, besides every TEMPORAL_* (README, Configuration). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export type Config = Omit<z.infer<typeof envSchema>, 'PUBLIC_BASE_URL' | 'DASHBOARD_API_KEY' | 'ENCRYPTION_KEY' | 'CODEC_ALLOWED_ORIGINS'> & {
  /** Every TEMPORAL_* variable as given: Temporal's environment configuration reads them (temporal/connection.ts). */
  TEMPORAL_ENV: Record<string, string>;
  PUBLIC_BASE_URL: string;
  CODEC_ALLOWED_ORIGINS: string[];
  DASHBOARD_API_KEY: string;
  ENCRYPTION_KEY: string;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses the environment. Outside production, a missing DASHBOARD_API_KEY or
 * ENCRYPTION_KEY is taken from (or created in) DATA_DIR/dev-keys.json, so that
 * `npm start`, `npm run api` and `npm run worker` share one pair of dev keys.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  let { DASHBOARD_API_KEY, ENCRYPTION_KEY } = c;
  if (!DASHBOARD_API_KEY || !ENCRYPTION_KEY) {
    if (c.NODE_ENV === 'production') {
      const missing = [!DASHBOARD_API_KEY && 'DASHBOARD_API_KEY', !ENCRYPTION_KEY && 'ENCRYPTION_KEY'].filter(Boolean);
      throw new ConfigError(`Invalid environment:\n${missing.map((m) => `  ${m}: required when NODE_ENV=production`).join('\n')}`);
    }
    const dev = devKeys(c.DATA_DIR);
    DASHBOARD_API_KEY ??= dev.dashboardApiKey;
    ENCRYPTION_KEY ??= dev.encryptionKey;
  }
  const PUBLIC_BASE_URL = (c.PUBLIC_BASE_URL ?? `http://127.0.0.1:${c.PORT}`).replace(/\/+$/, '');
  if (c.NODE_ENV === 'production' && !PUBLIC_BASE_URL.startsWith('https://')) {
    throw new ConfigError(
      `Invalid environment:\n  PUBLIC_BASE_URL: must be an https URL when NODE_ENV=production (BigCommerce only delivers webhooks to https on port 443), got ${c.PUBLIC_BASE_URL ?? '(unset)'}`,
    );
  }
  // The SDK runs at most as many workflow tasks at once as it caches runs: the workflow tasks set, or its default.
  const cached = c.WORKER_MAX_CACHED_WORKFLOWS;
  const workflowTasks = c.WORKER_MAX_WORKFLOW_TASKS ?? SDK_DEFAULT_WORKFLOW_TASKS;
  if (cached !== undefined && cached > 0 && cached < workflowTasks) {
    const which = c.WORKER_MAX_WORKFLOW_TASKS === undefined ? `the SDK's default when WORKER_MAX_WORKFLOW_TASKS is unset` : 'WORKER_MAX_WORKFLOW_TASKS';
    throw new ConfigError(`Invalid environment:\n  WORKER_MAX_CACHED_WORKFLOWS: must be 0 or at least the workflow tasks a worker runs at once (${workflowTasks}, ${which}), got ${cached}`);
  }
  const CODEC_ALLOWED_ORIGINS = c.CODEC_ALLOWED_ORIGINS ?? (c.NODE_ENV === 'production' ? [] : DEV_UI_ORIGINS);
  const TEMPORAL_ENV = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('TEMPORAL_') && typeof e[1] === 'string'));
  return { ...c, PUBLIC_BASE_URL, DASHBOARD_API_KEY, ENCRYPTION_KEY, CODEC_ALLOWED_ORIGINS, TEMPORAL_ENV };
}

export interface DevKeys {
  dashboardApiKey: string;
  encryptionKey: string;
}

/** Reads DATA_DIR/dev-keys.json, creating it (mode 0600) on first use. */
export function devKeys(dataDir: string): DevKeys {
  const file = path.resolve(dataDir, 'dev-keys.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevKeys;
  mkdirSync(path.dirname(file), { recursive: true });
  const keys: DevKeys = {
    dashboardApiKey: `dev_${randomBytes(24).toString('base64url')}`,
    encryptionKey: randomBytes(32).toString('base64'),
  };
  try {
    writeFileSync(file, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process (api and worker start together) wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return JSON.parse(readFileSync(file, 'utf8')) as DevKeys;
    throw err;
  }
  chmodSync(file, 0o600);
  return keys;
}

/** Runs `fn` with the parsed config, or prints the config error and exits 1. */
export function configOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** ENCRYPTION_KEY and ENCRYPTION_OLD_KEYS as one keyring. */
export function keyring(config: Pick<Config, 'ENCRYPTION_KEY' | 'ENCRYPTION_OLD_KEYS'>): Keyring {
  return new Keyring(config.ENCRYPTION_KEY, config.ENCRYPTION_OLD_KEYS);
}
