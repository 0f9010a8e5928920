import { readFileSync } from 'node:fs';
import net from 'node:net';
import { freePort, freePorts, isPortFree, portTaken } from '../../src/dev/servers';

const linux = process.platform === 'linux';

test('on Linux, a port for a server is drawn below the ephemeral range, free, and never one of those it is told to avoid', async () => {
  const low = linux ? Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) : Infinity;
  const avoid = [await freePort()];
  const drawn = await freePorts(40, avoid);
  expect(new Set([...avoid, ...drawn]).size).toBe(41);
  for (const port of drawn) {
    if (linux) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(low);
    }
    expect(await isPortFree(port)).toBe(true);
  }
});

test('a port in use is not free', async () => {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  try {
    expect(await isPortFree((srv.address() as net.AddressInfo).port)).toBe(false);
  } finally {
    await new Promise((r) => srv.close(r));
  }
});

test("the port a Temporal server could not bind is read from its error, as CI printed it", () => {
  const ci =
    'process exited with code 1 before listening on 127.0.0.1:34039\n' +
    'failed listening for HTTP API on 127.0.0.1:34039: listen tcp 127.0.0.1:34039: bind: address already in use" stack="go.temporal.io/server/temporal.init';
  expect(portTaken(ci)).toBe(34039);
  expect(portTaken('nothing listens on 127.0.0.1:7233 after 60000 ms')).toBeUndefined();
  expect(portTaken('sql: no such table: namespaces')).toBeUndefined();
});
