import { createHmac } from 'node:crypto';
import { Types } from 'mongoose';
import { redemptionTransactionId, reversalTransactionId } from '../ledger/ledger';
import { formatAmount, parseAmount } from '../ledger/points';
import type { RedemptionUpdate } from '../redemptions/repository';
import type { RedeemResult, RedemptionRequest, Reward } from '../workflows/messages';
import { type BigCommerceDeps, merchantConnector } from './bigcommerce';
import { mapFailures } from './failures';
import { metrics } from '../observability/metrics';

export interface RedemptionDeps extends Pick<BigCommerceDeps, 'store' | 'rateLimitShare' | 'requestTimeoutMs'> {
  /** HMAC key that derives coupon codes from redemption ids (a sub-key of ENCRYPTION_KEY). */
  couponKey: Buffer;
}

/** The promotion's name: found again by it, so a retry never creates a second one. */
export const promotionName = (redemptionId: string) => `Loyalty redemption ${redemptionId}`;

/**
 * The coupon code of a redemption: derived from its id with a secret key, so a
 * retry makes the same code and nobody can guess one (a single-use code is a
 * bearer token: BigCommerce cannot tie it to a customer).
 */
export function couponCode(key: Buffer, merchantId: string, redemptionId: string): string {
  const digest = createHmac('sha256', key).update(`${merchantId}:${redemptionId}`).digest();
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I: typed by shoppers
  let code = '';
  for (let i = 0; i < 16; i++) code += alphabet[digest[i]! % alphabet.length];
  return `PTS-${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8, 12)}-${code.slice(12)}`;
}

/** The reward as a BigCommerce promotion rule (promotions.v3.yml). */
export function promotionRule(reward: Reward) {
  switch (reward.type) {
    case 'amount_off':
      return { action: { cart_value: { discount: { fixed_amount: reward.amount } } } };
    case 'percent_off':
      return { action: { cart_value: { discount: { percentage_amount: String(reward.percent) } } } };
    case 'free_shipping':
      return { action: { shipping: { free_shipping: true, zone_ids: '*' } } };
  }
}

export function createRedemptionActivities(deps: RedemptionDeps) {
  const { store, couponKey } = deps;
  const connect = merchantConnector(deps);

  return {
    /**
     * Takes the points of a redemption (rule 9), or says why not: the same
     * redemptionId again answers as the first time, with another body it is a
     * conflict. Called only from the merchant workflow's `redeem` update, which
     * runs one redemption of a contact at a time, so the balance read here is
     * not overtaken by another redemption before the insert.
     */
    async takeRedemptionPoints({ merchantId, request }: { merchantId: string; request: RedemptionRequest }): Promise<RedeemResult> {
      const { redemptionId, contactId, points, reward } = request;
      const record = () => store.redemptions.createOnce({ merchantId, redemptionId, contactId, points, reward, expiresAt: request.expiresAt });
      const existing = await store.ledger.transaction(redemptionTransactionId(merchantId, redemptionId));
      if (existing) {
        if (existing.requestHash !== request.requestHash) return { outcome: 'conflict' };
        await record(); // heals a crash between the two writes
        return { outcome: 'existing' };
      }
      const contact = new Types.ObjectId(contactId);
      const balance = await store.ledger.balance(contact);
      if (balance < points) return { outcome: 'insufficient_points', balance };
      const currency = (await store.ledger.defaultCurrency(merchantId)) ?? 'USD';
      const amount = reward.type === 'amount_off' ? formatAmount(parseAmount(reward.amount)) : null;
      const { created, transaction } = await store.ledger.record({
        _id: redemptionTransactionId(merchantId, redemptionId),
        merchantId,
        contactId: contact,
        type: 'redemption',
        orderId: null,
        refundId: null,
        redemptionId,
        requestHash: request.requestHash,
        amount,
        currency,
        defaultAmount: amount,
        defaultCurrency: currency,
        exchangeRate: null,
        points: -points,
      });
      if (!created && transaction.requestHash !== request.requestHash) return { outcome: 'conflict' };
      if (created) metrics.pointsDeducted.inc(points);
      await record();
      return { outcome: created ? 'accepted' : 'existing' };
    },

    /** Gives a redemption's points back, once (rule 9: refused for good, or expired unused). */
    async reverseRedemption({ merchantId, redemptionId, contactId, points }: { merchantId: string; redemptionId: string; contactId: string; points: number }): Promise<void> {
      const original = await store.ledger.transaction(redemptionTransactionId(merchantId, redemptionId));
      const { created } = await store.ledger.record({
        _id: reversalTransactionId(merchantId, redemptionId),
        merchantId,
        contactId: new Types.ObjectId(contactId),
        type: 'redemption_reversal',
        orderId: null,
        refundId: null,
        redemptionId,
        amount: original?.amount ?? null,
        currency: original?.currency ?? 'USD',
        defaultAmount: original?.amount ?? null,
        defaultCurrency: original?.currency ?? 'USD',
        exchangeRate: null,
        points,
      });
      if (created) metrics.pointsCredited.inc(points);
    },

    async recordRedemption({ merchantId, redemptionId, update }: { merchantId: string; redemptionId: string; update: RedemptionUpdate }): Promise<void> {
      await store.redemptions.update(merchantId, redemptionId, update);
    },

    /**
     * The redemption's COUPON promotion, created once: looked up by its name
     * first, so a retry after a crash between creating and recording it finds
     * the one it made. One use in all; it ends at the expiry, if any.
     */
    createPromotion: mapFailures(
      async ({ merchantId, redemptionId, reward, expiresAt }: { merchantId: string; redemptionId: string; reward: Reward; expiresAt: number | null }): Promise<number> => {
        const { client } = await connect(merchantId);
        const name = promotionName(redemptionId);
        const [found] = await client.findPromotions(name);
        if (found) return found.id;
        // The currency the points were taken in (decided once, by takeRedemptionPoints); '*' for percentages and shipping.
        const taken = reward.type === 'amount_off' ? await store.ledger.transaction(redemptionTransactionId(merchantId, redemptionId)) : null;
        const currency = taken?.currency ?? '*';
        const created = await client.createPromotion({
          name,
          redemption_type: 'COUPON',
          coupon_type: 'SINGLE',
          rules: [promotionRule(reward)],
          max_uses: 1,
          status: 'ENABLED',
          currency_code: currency,
          can_be_used_with_other_promotions: false,
          ...(expiresAt === null ? {} : { end_date: new Date(expiresAt).toISOString() }),
        });
        return created.id;
      },
    ),

    /** The promotion's single code (one use, one per customer), added once; answers the code. */
    addCouponCode: mapFailures(async ({ merchantId, redemptionId, promotionId }: { merchantId: string; redemptionId: string; promotionId: number }): Promise<string> => {
      const { client } = await connect(merchantId);
      const [existing] = await client.listCouponCodes(promotionId);
      if (existing) return existing.code;
      const created = await client.createCouponCode(promotionId, { code: couponCode(couponKey, merchantId, redemptionId), max_uses: 1, max_uses_per_customer: 1 });
      return created.code;
    }),

    /** How many times the promotion's codes were used. */
    couponUses: mapFailures(async ({ merchantId, promotionId }: { merchantId: string; promotionId: number }): Promise<number> => {
      const { client } = await connect(merchantId);
      return (await client.listCouponCodes(promotionId)).reduce((n, c) => n + c.current_uses, 0);
    }),

    deletePromotion: mapFailures(async ({ merchantId, promotionId }: { merchantId: string; promotionId: number }): Promise<void> => {
      const { client } = await connect(merchantId);
      await client.deletePromotion(promotionId);
    }),
  };
}
