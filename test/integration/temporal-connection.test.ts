import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { connectClient } from '../../src/temporal/client';
import { temporalConnectOptions } from '../../src/temporal/connection';
import { missingSearchAttributes } from '../../src/temporal/search-attributes';
import { tempDir } from '../helpers/temp-dir';

/**
 * The Temporal connection comes from Temporal's environment configuration
 * (@temporalio/envconfig): an API key and TLS reach a TLS-terminating gRPC
 * proxy in front of the dev server, as they would Temporal Cloud.
 */
const upstream = () => process.env.TEST_TEMPORAL_ADDRESS!;
let proxy: http2.Http2SecureServer;
let proxyPort = 0;
let upstreamSession: http2.ClientHttp2Session;
const proxySessions = new Set<http2.ServerHttp2Session>();
let caPath = '';
const seen: Array<string | undefined> = [];

beforeAll(async () => {
  const dir = tempDir('tls-');
  // A test CA and a server certificate it signed (rustls, under the worker's connection, refuses a self-signed leaf).
  caPath = path.join(dir, 'ca.pem');
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  const f = (name: string) => path.join(dir, name);
  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', caPath, '-days', '1', '-subj', '/CN=loyalty test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', f('server.csr'), '-subj', '/CN=localhost');
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', caPath, '-CAkey', f('ca.key'), '-CAcreateserial', '-out', certPath, '-days', '1', '-extfile', f('server.ext'));
  upstreamSession = http2.connect(`http://${upstream()}`);
  proxy = http2.createSecureServer({ key: readFileSync(keyPath), cert: readFileSync(certPath), ALPNProtocols: ['h2'] });
  proxy.on('session', (s) => {
    proxySessions.add(s);
    s.on('close', () => proxySessions.delete(s));
  });
  proxy.on('stream', (stream, headers) => {
    seen.push(headers.authorization as string | undefined);
    const forward: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (k !== ':authority' && k !== ':scheme' && k !== 'authorization') forward[k] = v;
    const up = upstreamSession.request(forward);
    stream.pipe(up);
    let trailers: http2.IncomingHttpHeaders | undefined;
    up.on('trailers', (t) => (trailers = t));
    up.on('response', (h) => {
      const { ':status': status, ...rest } = h;
      if (rest['grpc-status'] !== undefined) return void stream.respond({ ':status': status, ...rest }, { endStream: true });
      stream.respond({ ':status': status, ...rest }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers(trailers ?? { 'grpc-status': '0' }));
      up.pipe(stream);
    });
    up.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('error', () => up.close());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  proxyPort = (proxy.address() as { port: number }).port;
});
afterAll(async () => {
  // Close what the connections left open, so that the jest worker can exit: the proxy's
  // sessions (a closed connection's may linger) and its own session to the dev server.
  for (const s of proxySessions) s.destroy();
  upstreamSession?.close();
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
});

const env = () => ({
  NODE_ENV: 'test',
  DASHBOARD_API_KEY: 'a-dashboard-key-of-length',
  ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
  TEMPORAL_ADDRESS: `localhost:${proxyPort}`,
  TEMPORAL_API_KEY: 'test-api-key-0123',
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: caPath,
  TEMPORAL_TLS_SERVER_NAME: 'localhost',
});

test('the client and the worker connection send the API key as the authorization header, over TLS', async () => {
  const config = loadConfig(env());
  const options = temporalConnectOptions(config);
  expect(options.connectionOptions).toMatchObject({ address: `localhost:${proxyPort}`, apiKey: 'test-api-key-0123' });
  expect(options.connectionOptions.tls).toBeTruthy();

  const client = await connectClient(config);
  await client.workflowService.getSystemInfo({});
  await client.connection.close();
  const native = await NativeConnection.connect(options.connectionOptions);
  await native.workflowService.getSystemInfo({});
  await native.close();
  expect(seen.length).toBeGreaterThanOrEqual(2);
  expect(new Set(seen)).toEqual(new Set(['Bearer test-api-key-0123']));
});

test('a TEMPORAL_PROFILE from a temporal.toml gives the namespace; a variable wins over the profile', () => {
  const dir = tempDir('toml-');
  const file = path.join(dir, 'temporal.toml');
  writeFileSync(file, '[profile.cloud]\naddress = "ns.acct.tmprl.cloud:7233"\nnamespace = "ns.acct"\napi_key = "from-profile"\n');
  const base = { NODE_ENV: 'test', DASHBOARD_API_KEY: 'a-dashboard-key-of-length', ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64') };
  const fromProfile = temporalConnectOptions(loadConfig({ ...base, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' }));
  expect(fromProfile).toMatchObject({ namespace: 'ns.acct', connectionOptions: { address: 'ns.acct.tmprl.cloud:7233', apiKey: 'from-profile' } });
  const overridden = temporalConnectOptions(loadConfig({ ...base, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud', TEMPORAL_API_KEY: 'from-env' }));
  expect(overridden.connectionOptions.apiKey).toBe('from-env');
  const none = temporalConnectOptions(loadConfig({ ...base, TEMPORAL_CONFIG_FILE: path.join(dir, 'absent.toml') }));
  expect(none).toMatchObject({ namespace: 'default', connectionOptions: { address: '127.0.0.1:7233' } });
});

test('on a namespace without our search attributes, the worker is told which are missing and how to add them', async () => {
  const client = await connectClient(loadConfig({ NODE_ENV: 'test', DASHBOARD_API_KEY: 'a-dashboard-key-of-length', ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'), TEMPORAL_ADDRESS: upstream() }));
  try {
    expect(await missingSearchAttributes(client.connection as never, 'default')).toBeNull();
    const bare = `bare-${Date.now()}`;
    await client.workflowService.registerNamespace({ namespace: bare, workflowExecutionRetentionPeriod: { seconds: 86_400 as never } });
    const check = await missingSearchAttributes(client.connection as never, bare);
    expect(check?.missing).toEqual(['MerchantId', 'StoreHash', 'BigCommerceOrderId']);
    expect(check?.howToAdd).toContain(`temporal operator search-attribute create --namespace ${bare} --name BigCommerceOrderId --type Int`);
  } finally {
    await client.connection.close();
  }
});
