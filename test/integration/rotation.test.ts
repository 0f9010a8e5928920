import { randomBytes } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../../src/config';
import { freePort } from '../../src/dev/servers';
import { rotateKeys } from '../../src/ops/rotate-keys';
import { eventMs } from '../helpers/history';
import { startProcesses, startSystem, type System, waitFor } from '../helpers/system';

/** Key rotation (CONTRACT §2): ENCRYPTION_KEY changes, the old one moves to ENCRYPTION_OLD_KEYS, `rotate-keys` re-seals. */
let sys: System;
/** Runs `fn`, and says so when it took over 10 s (see stepTimer). */
async function warnIfSlow<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const began = Date.now();
  try {
    return await fn();
  } finally {
    if (Date.now() - began > 10_000) console.warn(`rotation test: ${what} took ${Date.now() - began} ms`);
  }
}
beforeAll(async () => {
  sys = await warnIfSlow('starting the system', () => startSystem());
});
afterAll(async () => {
  await warnIfSlow('stopping the system', async () => sys?.stop());
});

/**
 * Twice in a day's full suites this file took 64-65 s instead of about 5, passing: a 60 s wait
 * somewhere, which loaded runs of the file alone did not reproduce. Its start and stop say so when
 * they take over 10 s; and when the test takes over 30 s, it prints how long each step took and the
 * merchant's workflow tasks that failed or timed out, with the worker that had taken each.
 */
function stepTimer() {
  const steps: [string, number][] = [['start', Date.now()]];
  return {
    step: (name: string) => void steps.push([name, Date.now()]),
    async reportIfSlow(workflowId: string) {
      const total = Date.now() - steps[0]![1];
      if (total <= 30_000) return;
      const { EventType } = temporal.api.enums.v1;
      const lines = steps.slice(1).map(([name, at], i) => `${name}: ${at - steps[i]![1]} ms`);
      for await (const run of sys.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
        const events = (await sys.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events ?? [];
        events.forEach((e, i) => {
          if (e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT && e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) return;
          const started = events[i - 1]?.workflowTaskStartedEventAttributes;
          lines.push(`${EventType[e.eventType!]} +${eventMs(e) - steps[0]![1]} ms, taken by ${started?.identity} at +${eventMs(events[i - 1]!) - steps[0]![1]} ms`);
        });
      }
      console.warn(`rotation test took ${total} ms:\n${lines.join('\n')}`);
    },
  };
}

/** An API and a worker, as fresh processes would be, over the same store, Temporal task queue and sandbox. */
async function processesWith(env: Record<string, string>) {
  const processes = await startProcesses(loadConfig({ ...sys.env, ...env, PORT: String(await freePort()) }));
  return {
    ...processes,
    balance: (merchantId: string, email: string, expected: number) =>
      waitFor(async () => {
        const r = await processes.request('GET', `/api/merchants/${merchantId}/contacts?email=${email}`);
        return (r.body as { contacts?: Array<{ balance: number }> }).contacts?.[0]?.balance === expected ? true : undefined;
      }, 90_000, `${email} balance ${expected}`), // the first after the worker swap may wait out a lost task (60 s task timeout)
  };
}

test('installed under key A; restarted with key B and A as old: orders credited, state readable, re-install works; rotate-keys re-seals, then A can go', async () => {
  const keyA = sys.config.ENCRYPTION_KEY;
  const keyB = randomBytes(32).toString('base64');
  const id = `rot-${Math.random().toString(36).slice(2, 8)}`;
  const { step, reportIfSlow } = stepTimer();
  const account = sys.newStore();
  await sys.installActive(id, account);
  sys.sandbox.createOrder(account.storeHash, { totalIncTax: '10.0000', email: 'a@example.com' });
  await sys.balanceWhen(id, 'a@example.com', 10);
  step('installed, first order credited');

  // The API and the worker restart with B, A kept for reading.
  await sys.stopApi();
  await sys.stopWorkerWhenSettled(`bigcommerce-merchant:${id}`);
  step('first worker stopped');
  const rotated = await processesWith({ ENCRYPTION_KEY: keyB, ENCRYPTION_OLD_KEYS: keyA });
  try {
    for (const h of sys.sandbox.hooks(account.storeHash)) h.destination = h.destination.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${rotated.config.PORT}`);
    sys.sandbox.createOrder(account.storeHash, { totalIncTax: '20.0000', email: 'b@example.com' });
    await rotated.balance(id, 'b@example.com', 20);
    step('second order credited, under B and A');
    const state = await rotated.request('GET', `/api/merchants/${id}/bigcommerce`);
    expect(state.body).toMatchObject({ status: 'active', stats: { ordersCredited: 2 } });

    step('state read');
    const report = await rotateKeys({ config: rotated.config, store: rotated.store, client: rotated.client });
    expect(report).toMatchObject({ resealed: 1, alreadyCurrent: 0, merchantRunsRenewed: 1 });
    const again = await rotateKeys({ config: rotated.config, store: rotated.store, client: rotated.client });
    expect(again.resealed).toBe(0);
    // The merchant's new run holds only payloads of B.
    const handle = rotated.client.workflow.getHandle(`bigcommerce-merchant:${id}`);
    // After the worker swap, a task the stopped worker had taken is retried after the merchant workflow's 60 s task timeout.
    await waitFor(async () => (((await handle.query('state')) as { counters: { runs: number } }).counters.runs === 2 ? true : undefined), 90_000, 'a fresh merchant run');

    step('rotate-keys twice, a fresh merchant run');
    // Re-install under B (hooks now point at this API).
    expect((await rotated.request('PUT', `/api/merchants/${id}/bigcommerce`, { apiPath: account.apiPath, accessToken: account.accessToken, clientId: account.clientId })).status).toBe(202);
    await waitFor(async () => ((await rotated.request('GET', `/api/merchants/${id}/bigcommerce`)).body.status === 'active' ? true : undefined), 90_000, 'active again');
  } finally {
    // Stopped between two of the merchant's tasks, like the first worker: a task this worker had
    // taken would wait out the merchant's 60 s task timeout before the next could take it (stepTimer).
    await sys.settled(`bigcommerce-merchant:${id}`).catch(() => undefined);
    step('re-installed');
    await rotated.stop();
    step('second worker stopped');
  }

  // A dropped: B alone reads the credentials and the merchant's history.
  const onlyB = await processesWith({ ENCRYPTION_KEY: keyB, ENCRYPTION_OLD_KEYS: '' });
  try {
    for (const h of sys.sandbox.hooks(account.storeHash)) h.destination = h.destination.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${onlyB.config.PORT}`);
    sys.sandbox.createOrder(account.storeHash, { totalIncTax: '30.0000', email: 'c@example.com' });
    await onlyB.balance(id, 'c@example.com', 30);
    step('third order credited, under B alone');
    expect((await onlyB.request('GET', `/api/merchants/${id}/bigcommerce`)).body).toMatchObject({ status: 'active', stats: { ordersCredited: 3 } });
  } finally {
    await onlyB.stop();
    await sys.startWorker(); // for the suite's teardown
    await reportIfSlow(`bigcommerce-merchant:${id}`);
  }
});
