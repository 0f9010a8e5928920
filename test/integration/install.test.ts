import { WorkflowNotFoundError } from '@temporalio/client';
import { REQUIRED_SCOPES } from '../../src/bigcommerce/scopes';
import { WEBHOOK_SECRET_HEADER } from '../../src/activities/bigcommerce';
import { startSystem, type System, waitFor } from '../helpers/system';

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

const created: string[] = [];
const merchant = (name: string) => {
  const id = `${name}-${Math.random().toString(36).slice(2, 8)}`;
  created.push(id);
  return id;
};

// Each test installs its own merchant on its own store, so they run side by side
// (test.concurrent); 'secrets' reads every history once they have all ended.
describe('install', () => {
  test.concurrent('happy path: active, exactly the expected hooks with the secret header and destination', async () => {
    const id = merchant('happy');
    const account = sys.newStore();
    const res = await sys.install(id, account);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ merchantId: id, storeHash: account.storeHash, status: 'installing', workflowId: `bigcommerce-merchant:${id}` });
    expect(typeof res.body.runId).toBe('string');

    const state = await sys.installActive(id, account);
    expect(state).toMatchObject({ status: 'active', missingScopes: [], lastError: null, stats: { ordersCredited: 0, refundsDeducted: 0 } });

    const hooks = sys.sandbox.hooks(account.storeHash);
    expect(hooks.map((h) => h.scope).sort()).toEqual(['store/order/created', 'store/order/refund/created', 'store/order/statusUpdated']);
    const secrets = new Set(hooks.map((h) => h.headers[WEBHOOK_SECRET_HEADER]));
    expect(secrets.size).toBe(1);
    expect([...secrets][0]).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    for (const h of hooks) {
      expect(h.destination).toBe(`${sys.config.PUBLIC_BASE_URL}/webhooks/bigcommerce/${id}`);
      expect(h.is_active).toBe(true);
    }
    expect(state.webhooks.map((w: { id: number }) => w.id).sort()).toEqual(hooks.map((h) => h.id).sort());
  });

  test.concurrent('the credentials file pasted whole installs the same way', async () => {
    const id = merchant('file');
    const account = sys.newStore();
    // Labels in another order, an extra line, CRLF endings.
    const file = ['CLIENT ID: ' + account.clientId, 'NAME: Loyalty', 'API PATH: ' + account.apiPath, 'something else: x', 'ACCESS TOKEN: ' + account.accessToken].join('\r\n');
    const res = await sys.request('PUT', `/api/merchants/${id}/bigcommerce`, { credentialsFile: file, pointsPerCurrencyUnit: 2 });
    expect(res.status).toBe(202);
    expect(res.body.storeHash).toBe(account.storeHash);
    await sys.installActive(id, account, {});
  });

  test.concurrent.each(REQUIRED_SCOPES)('a missing %s scope is reported by name; fixing it and re-installing turns the same workflow active', async (scope) => {
    const id = merchant(`scope-${scope.replace('_', '-')}`);
    const account = sys.newStore({ without: [scope] });
    const first = await sys.install(id, account);
    const failed = await waitFor(async () => {
      const s = await sys.state(id);
      return s.body?.status === 'failed' ? s.body : undefined;
    });
    expect(failed.missingScopes).toEqual([scope]);
    expect(sys.sandbox.hooks(account.storeHash)).toHaveLength(0);

    const fixed = sys.sandbox.createAccount(account.storeHash);
    const again = await sys.install(id, fixed);
    expect(again.body.workflowId).toBe(first.body.workflowId);
    expect(again.body.runId).toBe(first.body.runId);
    await waitFor(async () => (await sys.state(id)).body?.status === 'active');
    expect(sys.sandbox.hooks(account.storeHash)).toHaveLength(3);
  });

  test.concurrent('a rejected token fails with a lastError that says so', async () => {
    const id = merchant('revoked');
    const account = sys.newStore();
    sys.sandbox.revoke(account.accessToken);
    await sys.install(id, account);
    const failed = await waitFor(async () => {
      const s = await sys.state(id);
      return s.body?.status === 'failed' ? s.body : undefined;
    });
    expect(failed.lastError).toMatch(/rejected the access token/);
    expect(failed.missingScopes).toEqual([]);
  });

  test.concurrent('re-installing twice keeps one workflow and no duplicate hooks; a deactivated hook is re-activated', async () => {
    const id = merchant('reinstall');
    const account = sys.newStore();
    const first = await sys.install(id, account);
    await sys.installActive(id, account);
    const [hook] = sys.sandbox.hooks(account.storeHash);
    sys.sandbox.deactivateHook(account.storeHash, hook!.id);

    const second = await sys.install(id, account);
    const third = await sys.install(id, account);
    expect(new Set([first.body.runId, second.body.runId, third.body.runId]).size).toBe(1);
    await waitFor(async () => {
      const s = await sys.state(id);
      return s.body.status === 'active' && s.body.webhooks.every((w: { isActive: boolean }) => w.isActive);
    });
    const hooks = sys.sandbox.hooks(account.storeHash);
    expect(hooks).toHaveLength(3);
    expect(hooks.every((h) => h.is_active)).toBe(true);
    const running = [];
    for await (const wf of sys.client.workflow.list({ query: `WorkflowId = "bigcommerce-merchant:${id}"` })) running.push(wf);
    expect(running).toHaveLength(1);
  });

  test.concurrent('429 bursts and 5xx during install still end active, honouring the waits the headers asked for', async () => {
    const id = merchant('ratelimited');
    const account = sys.newStore();
    sys.sandbox.injectFaults(
      account.storeHash,
      { kind: '429', resetMs: 1500 },
      { kind: '500' },
      { kind: '429', resetMs: 800, retryAfterS: 2 },
    );
    await sys.install(id, account);
    await waitFor(async () => (await sys.state(id)).body?.status === 'active', 60_000);
    const log = sys.sandbox.requests(account.storeHash);
    const limited = log.filter((r) => r.status === 429 && r.retryAt);
    expect(limited).toHaveLength(2);
    for (const r of limited) {
      const early = log.filter((x) => x.at > r.at && x.at < r.retryAt!);
      expect(early).toEqual([]);
    }
  });

  test.concurrent('uninstall deletes the hooks and ends the workflow', async () => {
    const id = merchant('uninstall');
    const account = sys.newStore();
    await sys.installActive(id, account);
    expect(sys.sandbox.hooks(account.storeHash)).toHaveLength(3);
    const res = await sys.request('DELETE', `/api/merchants/${id}/bigcommerce`);
    expect(res.status).toBe(202);
    await waitFor(async () => (await sys.state(id)).body?.status === 'uninstalled');
    expect(sys.sandbox.hooks(account.storeHash)).toHaveLength(0);
    const result = await sys.client.workflow.getHandle(`bigcommerce-merchant:${id}`).result();
    expect(result.status).toBe('uninstalled');
  });

});

describe('secrets', () => {
  test('no history of any workflow these tests ran holds an access token, client secret or webhook secret, raw or decrypted', async () => {
    const secrets = new Set<string>();
    for (const hash of sys.sandbox.stores.keys()) {
      for (const a of sys.sandbox.store(hash).accounts.values()) {
        secrets.add(a.accessToken);
        secrets.add(a.clientSecret);
      }
      for (const h of sys.sandbox.hooks(hash)) secrets.add(h.headers['X-Loyalty-Webhook-Secret']!);
    }
    // Every merchant workflow these tests started, once visibility has caught up.
    const { raw, decoded, count } = await waitFor(async () => {
      const h = await sys.histories();
      return h.count >= created.length ? h : undefined;
    }, 10_000, `${created.length} workflows listed`);
    expect(count).toBe(created.length);
    expect(secrets.size).toBeGreaterThanOrEqual(30);
    expect(decoded).toContain('verifyScopes'); // the decoded text is real
    expect(decoded).toContain('missingScopes'); // payloads were decrypted (an activity result's field shows)
    expect(raw).not.toContain('missingScopes'); // …and were encrypted in the history
    // Failure messages too (the 401 test's activity failure): encrypted, like payloads.
    expect(decoded).toContain('BigCommerce rejected the access token');
    expect(raw).not.toContain('rejected the access token');
    expect(raw).toContain('Encoded failure'); // what the UI shows without the codec
    for (const secret of secrets) {
      expect(raw.includes(secret)).toBe(false);
      expect(decoded.includes(secret)).toBe(false);
    }
  });
});

describe('bad input', () => {
  const put = (id: string, body: unknown, headers?: Record<string, string>) => sys.request('PUT', `/api/merchants/${id}/bigcommerce`, body, headers);

  test('no or wrong bearer key → 401', async () => {
    const account = sys.newStore();
    const body = { apiPath: account.apiPath, accessToken: account.accessToken, clientId: account.clientId };
    expect((await put('m-401', body, { Authorization: '' })).status).toBe(401);
    const wrong = await put('m-401', body, { Authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('unauthorized');
  });

  test('malformed JSON, missing fields, bad merchantId, an API PATH on another origin → 400 with details; nothing written or started', async () => {
    const account = sys.newStore();
    const good = { apiPath: account.apiPath, accessToken: account.accessToken, clientId: account.clientId };
    const cases: Array<[string, unknown, string?]> = [
      ['bad-json', '{"apiPath": '],
      ['missing', { apiPath: account.apiPath }, 'accessToken'],
      ['bad id!', good, 'merchantId'],
      ['other-origin', { ...good, apiPath: `https://evil.example.com/stores/${account.storeHash}/v3/` }, 'apiPath'],
      ['bad-rate', { ...good, pointsPerCurrencyUnit: -1 }, 'pointsPerCurrencyUnit'],
      ['file-missing', { credentialsFile: 'ACCESS TOKEN: abc\n' }, 'apiPath'],
    ];
    for (const [id, body, field] of cases) {
      const res = await put(encodeURIComponent(id), body);
      expect([id, res.status]).toEqual([id, 400]);
      expect(res.body.error.code).toMatch(/^[a-z_]+$/);
      if (field) expect(res.body.error.details).toHaveProperty(field);
      expect(await sys.store.merchants.get(id)).toBeNull();
      await expect(sys.client.workflow.getHandle(`bigcommerce-merchant:${id}`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError); // no workflow started
    }
    expect(sys.sandbox.requests(account.storeHash)).toHaveLength(0);
  });

  test('state of a merchant never installed → 404', async () => {
    const res = await sys.state('never-installed');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});

describe('uninstall racing a re-install', () => {
  test('a re-install sent right after an uninstall ends active, served by the same workflow', async () => {
    const id = `race-${Math.random().toString(36).slice(2, 8)}`;
    created.push(id);
    const account = sys.newStore();
    const first = await sys.install(id, account);
    await sys.installActive(id, account);
    // Slow BigCommerce down so the uninstall is still deleting hooks when the re-install lands.
    sys.sandbox.setLatency(account.storeHash, 300);
    expect((await sys.request('DELETE', `/api/merchants/${id}/bigcommerce`)).status).toBe(202);
    const again = await sys.install(id, account);
    expect(again.status).toBe(202);
    expect(again.body.runId).toBe(first.body.runId);
    const state = await waitFor(async () => {
      const s = await sys.state(id);
      return s.body.status === 'active' ? s.body : undefined;
    }, 30_000, 'active again');
    sys.sandbox.setLatency(account.storeHash, 0);
    expect(state.webhooks).toHaveLength(3);
    expect(sys.sandbox.hooks(account.storeHash).filter((h) => h.is_active)).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 500));
    expect((await sys.state(id)).body.status).toBe('active'); // and it stays so
  });

  test('an uninstall sent right after a re-install ends uninstalled, even when both reach the workflow in one task', async () => {
    const id = `race-${Math.random().toString(36).slice(2, 8)}`;
    created.push(id);
    const workflowId = `bigcommerce-merchant:${id}`;
    const account = sys.newStore();
    await sys.installActive(id, account);
    // With no worker, both signals wait for the same workflow task: arrival order cannot decide.
    await sys.stopWorkerWhenSettled(workflowId);
    try {
      expect((await sys.install(id, account)).status).toBe(202);
      expect((await sys.request('DELETE', `/api/merchants/${id}/bigcommerce`)).status).toBe(202);
    } finally {
      await sys.startWorker();
    }
    const state = await waitFor(async () => {
      const s = (await sys.state(id)).body;
      return s.status === 'uninstalled' ? s : undefined;
    }, 60_000, 'uninstalled');
    expect(state.webhooks).toEqual([]);
    expect((await sys.client.workflow.getHandle(workflowId).result()).status).toBe('uninstalled');
    expect(sys.sandbox.hooks(account.storeHash)).toHaveLength(0);
    // The superseded re-install never ran: one scope probe, the first install's.
    const history = await sys.client.workflow.getHandle(workflowId).fetchHistory();
    const probes = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'verifyScopes');
    expect(probes).toHaveLength(1);
  });
});
