import { rmSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ManagedServer } from '../../src/dev/servers';

export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as { __testServers?: { env: TestWorkflowEnvironment; store: ManagedServer; dir: string } }).__testServers;
  if (!servers) return;
  await Promise.allSettled([servers.env.teardown(), servers.store.stop()]);
  rmSync(servers.dir, { recursive: true, force: true });
}
