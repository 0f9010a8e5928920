import { startSandbox } from '../sandbox/sandbox';
import { runCli, waitFor } from './cli';
import { startLocal, stopOnSignals } from './local';

/**
 * `npm run demo`: the system plus the sandbox store. Installs a demo merchant,
 * places orders (a guest, an incomplete one that later completes), refunds one
 * fully and one in two parts, moves one to Refunded by status only, prints
 * balances and transactions, measures orders per second, and stays up.
 */
const say = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const sandbox = await startSandbox({ port: Number(process.env.SANDBOX_PORT ?? 3100), rateLimit: { quota: 10_000, windowMs: 30_000 } });
  const system = await startLocal({ ...process.env, BIGCOMMERCE_API_ORIGIN: sandbox.url });
  stopOnSignals(async () => {
    await system.stop();
    await sandbox.close();
  });
  const { apiUrl, config } = system;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(apiUrl + path, {
      method,
      headers: { Authorization: `Bearer ${config.DASHBOARD_API_KEY}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const until = <T>(what: string, fn: () => Promise<T | undefined>) => waitFor(fn, 60_000, what, 200);

  const store = sandbox.createStore();
  const account = sandbox.createAccount(store.hash);
  const merchantId = `demo-${Date.now().toString(36)}`;
  say(`\nSandbox store ${store.hash} at ${sandbox.url}; installing merchant ${merchantId} with the downloaded credentials file…`);
  const install = await call('PUT', `/api/merchants/${merchantId}/bigcommerce`, { credentialsFile: account.credentialsFile, pointsPerCurrencyUnit: 1 });
  say(`PUT install → ${install.status} ${JSON.stringify(install.body)}`);
  const state = await until('active', async () => {
    const s = await call('GET', `/api/merchants/${merchantId}/bigcommerce`);
    return s.body.status === 'active' || s.body.status === 'failed' ? s.body : undefined;
  });
  say(`status ${state.status}; webhooks: ${state.webhooks.map((w: { scope: string }) => w.scope).join(', ')}`);

  const credited = (n: number, refunds = 0) =>
    until(`${n} orders and ${refunds} refunds`, async () => {
      const s = (await call('GET', `/api/merchants/${merchantId}/bigcommerce`)).body.stats;
      return s.ordersCredited >= n && s.refundsDeducted >= refunds ? s : undefined;
    });

  say('\nPlacing orders…');
  const ann = sandbox.createOrder(store.hash, { totalIncTax: '120.0000', email: 'Ann@Example.com', customerId: 1 });
  const guest = sandbox.createOrder(store.hash, { totalIncTax: '45.5000', email: 'guest@example.com', customerId: 0 });
  const incomplete = sandbox.createOrder(store.hash, { totalIncTax: '80.0000', email: 'cat@example.com', customerId: 3, statusId: 0 });
  const toRefund = sandbox.createOrder(store.hash, { totalIncTax: '60.0000', email: 'ann@example.com', customerId: 1 });
  const twoParts = sandbox.createOrder(store.hash, { totalIncTax: '100.0000', email: 'dan@example.com', customerId: 4 });
  const statusOnly = sandbox.createOrder(store.hash, { totalIncTax: '35.0000', email: 'eve@example.com', customerId: 5 });
  say(`  #${ann.id} Ann 120.00, #${guest.id} guest 45.50, #${incomplete.id} Cat 80.00 (Incomplete), #${toRefund.id} Ann 60.00, #${twoParts.id} Dan 100.00, #${statusOnly.id} Eve 35.00`);
  await credited(5);
  say(`  5 orders credited; #${incomplete.id} waits while Incomplete. Completing it (status → Awaiting Fulfillment)…`);
  sandbox.setOrderStatus(store.hash, incomplete.id, 11);
  await credited(6);

  say('\nRefunds…');
  sandbox.createRefund(store.hash, toRefund.id, 60);
  say(`  #${toRefund.id} fully refunded (60.00)`);
  sandbox.createRefund(store.hash, twoParts.id, 30);
  sandbox.createRefund(store.hash, twoParts.id, 20);
  say(`  #${twoParts.id} refunded in two parts (30.00, then 20.00)`);
  sandbox.setOrderStatus(store.hash, statusOnly.id, 4);
  say(`  #${statusOnly.id} status changed to Refunded without a refund: no change expected`);
  await credited(6, 3);
  await sandbox.delivery.idle();
  await sleep(500);

  say('\nBalances and transactions:');
  for (const email of ['ann@example.com', 'guest@example.com', 'cat@example.com', 'dan@example.com', 'eve@example.com']) {
    const { contacts } = (await call('GET', `/api/merchants/${merchantId}/contacts?email=${encodeURIComponent(email)}`)).body;
    for (const c of contacts) {
      const { transactions } = (await call('GET', `/api/merchants/${merchantId}/contacts/${c.id}/transactions`)).body;
      say(`  ${c.email.padEnd(20)} balance ${String(c.balance).padStart(4)}  customer ${c.bigcommerceCustomerId ?? 'guest'}`);
      for (const t of transactions) say(`      ${t.type.padEnd(6)} order #${t.orderId}${t.refundId ? ` refund ${t.refundId}` : ''}  ${t.amount} ${t.currency}  ${t.points > 0 ? '+' : ''}${t.points}`);
    }
  }

  say('\nRedemption: Ann spends 100 points on 10.00 off…');
  const annContact = (await call('GET', `/api/merchants/${merchantId}/contacts?email=ann@example.com`)).body.contacts[0];
  const redemptionId = `demo-${Date.now().toString(36)}`;
  const redeemed = await call('POST', `/api/merchants/${merchantId}/contacts/${annContact.id}/redemptions`, {
    redemptionId,
    points: 100,
    reward: { type: 'amount_off', amount: '10.00' },
    expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
  });
  say(`  POST redemption → ${redeemed.status} ${JSON.stringify(redeemed.body)}`);
  const issued = await until('coupon issued', async () => {
    const r = (await call('GET', `/api/merchants/${merchantId}/redemptions/${redemptionId}`)).body;
    return r.status === 'issued' || r.status === 'failed' ? r : undefined;
  });
  const annAfter = (await call('GET', `/api/merchants/${merchantId}/contacts?email=ann@example.com`)).body.contacts[0];
  // Coupon codes stay out of anything that may end in a log: the dashboard reads the code from the redemption.
  const code = typeof issued.couponCode === 'string' ? `${issued.couponCode.slice(0, 4)}${issued.couponCode.slice(4, -4).replace(/[A-Z0-9]/gi, '•')}${issued.couponCode.slice(-4)}` : 'none';
  say(`  status ${issued.status}: coupon code ${code} (single use, expires ${issued.expiresAt}; in full: GET /api/merchants/${merchantId}/redemptions/${redemptionId}); Ann's balance ${annContact.balance} → ${annAfter.balance}`);
  const tooMuch = await call('POST', `/api/merchants/${merchantId}/contacts/${annContact.id}/redemptions`, { redemptionId: `${redemptionId}-2`, points: 1_000, reward: { type: 'free_shipping' } });
  say(`  1,000 more points → ${tooMuch.status} ${tooMuch.body.error?.code}`);

  const N = Number(process.env.DEMO_BURST ?? 200);
  say(`\nThroughput: ${N} orders placed at once…`);
  const started = Date.now();
  for (let i = 0; i < N; i++) sandbox.createOrder(store.hash, { totalIncTax: '10.0000', email: `burst${i % 25}@example.com`, customerId: 100 + (i % 25) });
  await credited(6 + N, 3);
  const seconds = (Date.now() - started) / 1000;
  say(`  ${N} orders credited in ${seconds.toFixed(2)} s: ${(N / seconds).toFixed(1)} orders/s (webhook → signal → child workflow → ledger, one worker)`);

  const final = (await call('GET', `/api/merchants/${merchantId}/bigcommerce`)).body;
  say(`\nMerchant ${merchantId}: ${JSON.stringify(final.stats)}`);
  say(`Temporal UI: ${system.uiUrl ?? config.TEMPORAL_ADDRESS}  (search: MerchantId = "${merchantId}")`);
  say(`API: ${apiUrl}  dashboard key: ${config.DASHBOARD_API_KEY}`);
  say('The system keeps running; Ctrl-C stops it.');
}

runCli(main);
