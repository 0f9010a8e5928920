import { Connection } from '@temporalio/client';
(async () => {
  const c = await Connection.connect({ address: '127.0.0.1:17233' });
  const r = await c.workflowService.describeNamespace({ namespace: 'default' });
  console.log(JSON.stringify(r.namespaceInfo?.capabilities));
  await c.close();
})();
