import type { SandboxAccount } from '../../src/sandbox/sandbox';
import { startSystem, type System, uniqueId, waitFor } from '../helpers/system';

/** Spending points (CONTRACT §3 redemptions, §4 rule 9): BigCommerce coupons, compensation, expiry. */
let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});


/** A merchant whose contact has earned `points` (one order at rate 1). */
async function contactWith(points: number): Promise<{ id: string; account: SandboxAccount; contactId: string; email: string }> {
  const id = uniqueId('red');
  const account = sys.newStore();
  await sys.installActive(id, account);
  const email = `${id}@example.com`;
  sys.sandbox.createOrder(account.storeHash, { totalIncTax: `${points}.0000`, email });
  const contact = await waitFor(async () => {
    const c = await sys.contact(id, email);
    return c && c.balance === points ? c : undefined;
  }, 30_000, `${email} has ${points} points`);
  return { id, account, contactId: contact.id, email };
}

const redeem = (id: string, contactId: string, body: Record<string, unknown>) => sys.request('POST', `/api/merchants/${id}/contacts/${contactId}/redemptions`, body);

async function redemptionWhen(id: string, redemptionId: string, status: string, timeoutMs = 30_000): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return waitFor(async () => {
    const r = await sys.request('GET', `/api/merchants/${id}/redemptions/${redemptionId}`);
    return r.body?.status === status ? r.body : undefined;
  }, timeoutMs, `redemption ${redemptionId} ${status}`);
}

const balance = async (id: string, email: string) => (await sys.contact(id, email))!.balance;

// Each test has its own merchant and store, so they run side by side
// (test.concurrent); the one that restarts the worker runs alone.
describe('issuing coupons', () => {
  test.concurrent('100 points, redeem 50 for 5.00 off: one COUPON promotion with fixed_amount "5.00" and one single-use code; balance 50; one redemption transaction of −50', async () => {
    const { id, account, contactId, email } = await contactWith(100);
    const res = await redeem(id, contactId, { redemptionId: 'r-amount', points: 50, reward: { type: 'amount_off', amount: '5.00' } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ redemptionId: 'r-amount', workflowId: `bigcommerce-redemption:${id}:r-amount`, status: 'pending' });
    expect(await balance(id, email)).toBe(50); // taken before the answer

    const issued = await redemptionWhen(id, 'r-amount', 'issued');
    expect(issued).toMatchObject({ redemptionId: 'r-amount', contactId, points: 50, reward: { type: 'amount_off', amount: '5.00' }, expiresAt: null, lastError: null });
    expect(issued.couponCode).toMatch(/^PTS(-[A-Z2-9]{4}){4}$/);

    const promotions = sys.sandbox.promotions(account.storeHash);
    expect(promotions).toHaveLength(1);
    expect(promotions[0]).toMatchObject({
      redemption_type: 'COUPON',
      max_uses: 1,
      currency_code: 'USD',
      rules: [{ action: { cart_value: { discount: { fixed_amount: '5.00' } } } }],
    });
    expect(promotions[0]!.codes).toEqual([expect.objectContaining({ code: issued.couponCode, max_uses: 1, max_uses_per_customer: 1, current_uses: 0 })]);

    const txs = await sys.transactions(id, contactId);
    expect(txs.filter((t) => t.type === 'redemption')).toEqual([expect.objectContaining({ points: -50, redemptionId: 'r-amount', orderId: null })]);
    // The code is a bearer token: in workflow histories only encrypted.
    const histories = await sys.histories(id);
    expect(histories.decoded).toContain(issued.couponCode);
    expect(histories.raw).not.toContain(issued.couponCode);
  });

  test.concurrent('percent-off and free-shipping rewards create the matching rules', async () => {
    const { id, account, contactId } = await contactWith(100);
    expect((await redeem(id, contactId, { redemptionId: 'r-pct', points: 10, reward: { type: 'percent_off', percent: 10 } })).status).toBe(202);
    expect((await redeem(id, contactId, { redemptionId: 'r-ship', points: 10, reward: { type: 'free_shipping' } })).status).toBe(202);
    await redemptionWhen(id, 'r-pct', 'issued');
    await redemptionWhen(id, 'r-ship', 'issued');
    const rules = sys.sandbox.promotions(account.storeHash).map((p) => [p.name, p.rules, p.currency_code]);
    expect(rules).toEqual(
      expect.arrayContaining([
        [expect.stringContaining('r-pct'), [{ action: { cart_value: { discount: { percentage_amount: '10' } } } }], '*'],
        [expect.stringContaining('r-ship'), [{ action: { shipping: { free_shipping: true, zone_ids: '*' } } }], '*'],
      ]),
    );
  });

  test.concurrent('150 points against a balance of 100: 409 insufficient_points, nothing written, no promotion', async () => {
    const { id, account, contactId, email } = await contactWith(100);
    const res = await redeem(id, contactId, { redemptionId: 'r-big', points: 150, reward: { type: 'amount_off', amount: '15.00' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'insufficient_points', details: { balance: 100, points: 150 } });
    expect(await balance(id, email)).toBe(100);
    expect((await sys.request('GET', `/api/merchants/${id}/redemptions/r-big`)).status).toBe(404);
    expect(await sys.transactions(id, contactId)).toHaveLength(1);
    expect(sys.sandbox.promotions(account.storeHash)).toHaveLength(0);
  });

  test.concurrent('ten concurrent redemptions of 20 on a balance of 100: five accepted, five refused, balance 0, five promotions', async () => {
    const { id, account, contactId, email } = await contactWith(100);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => redeem(id, contactId, { redemptionId: `r-c${i}`, points: 20, reward: { type: 'amount_off', amount: '2.00' } })),
    );
    expect(answers.filter((r) => r.status === 202)).toHaveLength(5);
    expect(answers.filter((r) => r.status === 409 && r.body.error.code === 'insufficient_points')).toHaveLength(5);
    expect(await balance(id, email)).toBe(0);
    await waitFor(async () => (sys.sandbox.promotions(account.storeHash).length === 5 ? true : undefined), 30_000, 'five promotions');
    const txs = await sys.transactions(id, contactId);
    expect(txs.filter((t) => t.type === 'redemption')).toHaveLength(5);
  });

  test.concurrent('the same redemptionId twice makes one redemption and one promotion; with another body it is 409 redemption_conflict', async () => {
    const { id, account, contactId, email } = await contactWith(100);
    const body = { redemptionId: 'r-twice', points: 30, reward: { type: 'amount_off', amount: '3.00' } };
    const [a, b] = await Promise.all([redeem(id, contactId, body), redeem(id, contactId, body)]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body).toEqual(a.body);
    const again = await redeem(id, contactId, body);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(a.body);
    await redemptionWhen(id, 'r-twice', 'issued');
    expect(await balance(id, email)).toBe(70);
    expect(sys.sandbox.promotions(account.storeHash)).toHaveLength(1);
    const other = await redeem(id, contactId, { ...body, points: 31 });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('redemption_conflict');
    expect(await balance(id, email)).toBe(70);
  });
});

describe('compensation and expiry', () => {
  test.concurrent('marketing scope withdrawn: status failed with lastError, the points come back by one reversal', async () => {
    const { id, account, contactId, email } = await contactWith(100);
    sys.sandbox.setScopes(account.accessToken, ['store_v2_customers', 'store_v2_orders', 'store_v2_transactions', 'store_v2_products', 'store_cart', 'store_checkout']);
    expect((await redeem(id, contactId, { redemptionId: 'r-noscope', points: 40, reward: { type: 'free_shipping' } })).status).toBe(202);
    const failed = await redemptionWhen(id, 'r-noscope', 'failed');
    expect(failed.lastError).toMatch(/scope/);
    expect(failed.couponCode).toBeNull();
    expect(await balance(id, email)).toBe(100);
    const txs = await sys.transactions(id, contactId);
    expect(txs.filter((t) => t.redemptionId === 'r-noscope').map((t) => [t.type, t.points]).sort()).toEqual([
      ['redemption', -40],
      ['redemption_reversal', 40],
    ]);
    expect(sys.sandbox.promotions(account.storeHash)).toHaveLength(0);
  });

  test.concurrent('an unused coupon expires: promotion deleted, points back; a used one is recorded used', async () => {
    const { id, account, contactId, email } = await contactWith(100);
    const expiresAt = new Date(Date.now() + 4_000).toISOString();
    expect((await redeem(id, contactId, { redemptionId: 'r-unused', points: 20, reward: { type: 'amount_off', amount: '2.00' }, expiresAt })).status).toBe(202);
    expect((await redeem(id, contactId, { redemptionId: 'r-used', points: 30, reward: { type: 'percent_off', percent: 5 }, expiresAt })).status).toBe(202);
    const used = await redemptionWhen(id, 'r-used', 'issued');
    const unused = await redemptionWhen(id, 'r-unused', 'issued');
    expect(Date.parse(used.expiresAt)).toBe(Date.parse(expiresAt));
    const promotion = sys.sandbox.promotions(account.storeHash).find((p) => p.codes.some((c) => c.code === unused.couponCode))!;
    expect(promotion.end_date).toBe(new Date(Date.parse(expiresAt)).toISOString());
    sys.sandbox.useCoupon(account.storeHash, used.couponCode);
    expect(await balance(id, email)).toBe(50);

    await redemptionWhen(id, 'r-unused', 'expired', 20_000);
    await redemptionWhen(id, 'r-used', 'used', 20_000);
    expect(await balance(id, email)).toBe(70);
    const left = sys.sandbox.promotions(account.storeHash);
    expect(left.map((p) => p.codes[0]!.code)).toEqual([used.couponCode]);
  });

  test('the answer to creating the promotion is lost and the worker restarts: still exactly one promotion and one code', async () => {
    const { id, account, contactId } = await contactWith(100);
    // BigCommerce creates the promotion but its answer never reaches the worker (the client gives up after 5 s).
    sys.sandbox.injectFaults(account.storeHash, { kind: 'slow-response', ms: 8_000, method: 'POST', path: '/v3/promotions' });
    expect((await redeem(id, contactId, { redemptionId: 'r-crash', points: 10, reward: { type: 'amount_off', amount: '1.00' } })).status).toBe(202);
    await waitFor(async () => (sys.sandbox.promotions(account.storeHash).length === 1 ? true : undefined), 30_000, 'promotion created');
    await sys.stopWorker();
    await sys.startWorker();
    const issued = await redemptionWhen(id, 'r-crash', 'issued', 60_000);
    const promotions = sys.sandbox.promotions(account.storeHash);
    expect(promotions).toHaveLength(1);
    expect(promotions[0]!.codes.map((c) => c.code)).toEqual([issued.couponCode]);
  }, 90_000);
});

describe('bad requests', () => {
  test('bad bodies → 400 with field details; unknown contact or merchant → 404; unknown redemption → 404; no bearer → 401', async () => {
    const { id, contactId, email } = await contactWith(10);
    const reward = { type: 'amount_off', amount: '1.00' };
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ redemptionId: 'x', points: 0, reward }, 'points'],
      [{ redemptionId: 'x', points: 1.5, reward }, 'points'],
      [{ redemptionId: 'x', points: '5', reward }, 'points'],
      [{ redemptionId: 'x', points: 5, reward: { type: 'store_credit' } }, 'reward.type'],
      [{ redemptionId: 'x', points: 5, reward: { type: 'percent_off', percent: 0 } }, 'reward.percent'],
      [{ redemptionId: 'x', points: 5, reward: { type: 'percent_off', percent: 101 } }, 'reward.percent'],
      [{ redemptionId: 'x', points: 5, reward: { type: 'amount_off', amount: '1.005' } }, 'reward.amount'],
      [{ redemptionId: 'x', points: 5, reward: { type: 'amount_off', amount: '-1.00' } }, 'reward.amount'],
      [{ redemptionId: 'x', points: 5, reward: { type: 'amount_off', amount: '0.00' } }, 'reward.amount'],
      [{ redemptionId: 'x', points: 5, reward, expiresAt: new Date(Date.now() - 60_000).toISOString() }, 'expiresAt'],
      [{ redemptionId: 'x', points: 5, reward, expiresAt: 'tomorrow' }, 'expiresAt'],
      [{ redemptionId: 'bad id!', points: 5, reward }, 'redemptionId'],
      [{ points: 5, reward }, 'redemptionId'],
    ];
    for (const [body, field] of bad) {
      const res = await redeem(id, contactId, body);
      expect([res.status, res.body.error.code]).toEqual([400, 'validation_failed']);
      expect(Object.keys(res.body.error.details)).toContain(field);
    }
    expect(await balance(id, email)).toBe(10);
    expect((await redeem(id, '0123456789abcdef01234567', { redemptionId: 'x', points: 1, reward })).status).toBe(404);
    expect((await redeem(id, 'not-an-id', { redemptionId: 'x', points: 1, reward })).status).toBe(404);
    expect((await redeem('nobody', contactId, { redemptionId: 'x', points: 1, reward })).status).toBe(404);
    expect((await sys.request('GET', `/api/merchants/${id}/redemptions/nope`)).status).toBe(404);
    const anonymous = await sys.request('POST', `/api/merchants/${id}/contacts/${contactId}/redemptions`, { redemptionId: 'x', points: 1, reward }, { Authorization: '' });
    expect(anonymous.status).toBe(401);
  });
});
