import { createHash } from 'node:crypto';
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import { redemptionTransactionId } from '../../ledger/ledger';
import { parseAmount } from '../../ledger/points';
import type { Store } from '../../store';
import { merchantWorkflowId, redeemUpdate, type RedemptionRequest, redemptionWorkflowId, type Reward } from '../../workflows/messages';
import { HttpError, notFound, validationError } from '../errors';
import { installedMerchant } from './merchants';

export const RewardSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('amount_off'),
      amount: z
        .string({ error: 'must be a decimal string, e.g. "5.00"' })
        .regex(/^\d{1,9}(\.\d{1,2})?$/, 'must be a positive decimal with at most 2 places')
        .refine((s) => parseAmount(s) > 0n, 'must be positive'),
    }),
    z.strictObject({
      type: z.literal('percent_off'),
      percent: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be 1 to 100').max(100, 'must be 1 to 100'),
    }),
    z.strictObject({ type: z.literal('free_shipping') }),
  ],
  { error: 'type must be amount_off, percent_off or free_shipping' },
);

export const RedemptionBody = z.strictObject({
  redemptionId: z.string({ error: 'is required' }).regex(/^[A-Za-z0-9_-]{1,64}$/, 'must match ^[A-Za-z0-9_-]{1,64}$'),
  points: z.number({ error: 'must be a number' }).int('must be a whole number').positive('must be positive').max(1_000_000_000),
  reward: RewardSchema,
  expiresAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
});
type RedemptionBody = z.infer<typeof RedemptionBody>;

/** The request in canonical form: the same redemptionId with another body is a conflict. */
function requestHash(contactId: string, body: RedemptionBody, expiresAt: number | null): string {
  const reward: Reward = body.reward.type === 'amount_off' ? { type: 'amount_off', amount: body.reward.amount } : body.reward;
  return createHash('sha256').update(JSON.stringify([contactId, body.points, reward, expiresAt])).digest('hex');
}

/** Spending points on BigCommerce coupons (CONTRACT §3, §4 rule 9). */
export function redemptionsRouter({ client, store }: { client: Client; store: Store }): Router {
  const router = Router();

  const merchantOf = (raw: string | undefined) => installedMerchant(store, raw);

  router.post('/api/merchants/:merchantId/contacts/:contactId/redemptions', async (req, res) => {
    const { merchantId, status } = await merchantOf(req.params.merchantId);
    const contactId = String(req.params.contactId);
    if (!(await store.ledger.contactDoc(merchantId, contactId))) throw notFound(`no contact ${contactId} for merchant ${merchantId}`);
    const parsed = RedemptionBody.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error);
    const body = parsed.data;
    const expiresAt = body.expiresAt === undefined ? null : Date.parse(body.expiresAt);
    const hash = requestHash(contactId, body, expiresAt);
    const accepted = { redemptionId: body.redemptionId, workflowId: redemptionWorkflowId(merchantId, body.redemptionId), status: 'pending' };

    // A retry of a redemption already taken answers as the first call did (even once its expiry has passed).
    const earlier = await store.ledger.transaction(redemptionTransactionId(merchantId, body.redemptionId));
    if (earlier) {
      if (earlier.requestHash !== hash) throw conflict(body.redemptionId);
      return void res.status(202).json(accepted);
    }
    const now = Date.now();
    if (expiresAt !== null && expiresAt <= now) throw new HttpError(400, 'validation_failed', 'the request is not valid', { expiresAt: 'must be in the future' });
    if (status !== 'active') throw new HttpError(409, 'merchant_not_active', `merchant ${merchantId} is ${status}: redemptions need an active install`);

    const request: RedemptionRequest = { contactId, redemptionId: body.redemptionId, points: body.points, reward: body.reward, expiresAt, acceptedAt: now, requestHash: hash };
    let result;
    try {
      result = await client.withDeadline(now + 15_000, () =>
        client.workflow.getHandle(merchantWorkflowId(merchantId)).executeUpdate(redeemUpdate, { args: [request] }),
      );
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) {
        throw new HttpError(409, 'merchant_not_active', `merchant ${merchantId} cannot redeem now: ${(err.cause as Error | undefined)?.message ?? err.message}`);
      }
      throw new HttpError(503, 'unavailable', 'the redemption could not be decided in time; retry with the same redemptionId');
    }
    switch (result.outcome) {
      case 'accepted':
      case 'existing':
        return void res.status(202).json(accepted);
      case 'conflict':
        throw conflict(body.redemptionId);
      case 'insufficient_points':
        throw new HttpError(409, 'insufficient_points', `the contact has ${result.balance} points; ${body.points} are needed`, { balance: result.balance, points: body.points });
    }
  });

  router.get('/api/merchants/:merchantId/redemptions/:redemptionId', async (req, res) => {
    const { merchantId } = await merchantOf(req.params.merchantId);
    const found = await store.redemptions.get(merchantId, String(req.params.redemptionId));
    if (!found) throw notFound(`no redemption ${req.params.redemptionId} for merchant ${merchantId}`);
    res.json(found);
  });

  return router;
}

const conflict = (redemptionId: string) =>
  new HttpError(409, 'redemption_conflict', `redemption ${redemptionId} exists with another body: choose a new redemptionId for another redemption`);
