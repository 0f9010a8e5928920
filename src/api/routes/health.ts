import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { Store } from '../../store';
import { withTimeout } from '../../store';

export function healthRouter({ client, store }: { client: Client; store: Store }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  router.get('/readyz', async (_req, res) => {
    const checks = await Promise.all([
      withTimeout(client.workflowService.getSystemInfo({}), 2_000, 'no answer within 2 s').then(
        () => ['temporal', 'ok'] as const,
        (err: Error) => ['temporal', err.message] as const,
      ),
      store.ping(2_000).then(
        () => ['store', 'ok'] as const,
        (err: Error) => ['store', err.message] as const,
      ),
    ]);
    const down = checks.filter(([, s]) => s !== 'ok');
    const body = Object.fromEntries(checks);
    if (down.length === 0) return void res.json({ status: 'ready', checks: body });
    res.status(503).json({
      error: { code: 'not_ready', message: `not reachable: ${down.map(([n]) => n).join(', ')}`, details: body },
    });
  });
  return router;
}
