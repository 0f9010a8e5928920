import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Types } from 'mongoose';
import { normalizeEmail, orderTransactionId, refundTransactionId } from '../ledger/ledger';
import type { TransactionDoc } from '../ledger/models';
import { defaultCurrencyTotal, formatDefaultTotal, orderPoints } from '../ledger/points';
import { activityLogger } from '../logger';
import { metrics } from '../observability/metrics';
import type { Store } from '../store';
import type { CreditResult, OrderCredit, OrderSnapshot, RefundResult } from '../workflows/messages';
import { FailureType } from './failures';

export function createLedgerActivities({ store }: { store: Store }) {
  return {
    /**
     * Rules 1–2: credits floor(total_inc_tax × rate) to the billing email's
     * contact, once. A second call for the same order returns the first
     * transaction ("already_credited").
     */
    async creditOrder({ merchantId, order }: { merchantId: string; order: OrderSnapshot }): Promise<CreditResult> {
      const merchant = await store.merchants.get(merchantId);
      if (!merchant) throw ApplicationFailure.create({ type: FailureType.MerchantGone, message: `merchant ${merchantId} is not installed`, nonRetryable: true });
      const email = normalizeEmail(order.email);
      if (!email) return { outcome: 'no_email' };
      const points = orderPoints(order.totalIncTax, merchant.pointsPerCurrencyUnit, order.exchangeRate);
      if (points <= 0) return { outcome: 'zero_points' };
      const contact = await store.ledger.contactFor(merchantId, email, order.customerId);
      const { transaction, created } = await store.ledger.record({
        _id: orderTransactionId(merchantId, order.orderId),
        merchantId,
        contactId: contact._id,
        type: 'order',
        orderId: order.orderId,
        refundId: null,
        amount: order.totalIncTax,
        currency: order.currency,
        ...inDefaultCurrency(order.totalIncTax, order.currency, order.defaultCurrency, order.exchangeRate),
        points,
        runId: currentRunId(),
      });
      const outcome = created || writtenByThisRun(transaction) ? 'credited' : 'already_credited';
      if (created) metrics.pointsCredited.inc(points);
      activityLogger().info({ merchantId, orderId: order.orderId, points: transaction.points, outcome, transactionId: transaction._id }, 'order credit');
      return { outcome, credit: toCredit(transaction) };
    },

    /** The order's credit as written, or null if it credited nothing. */
    async orderCredit({ merchantId, orderId }: { merchantId: string; orderId: number }): Promise<OrderCredit | null> {
      const tx = await store.ledger.transaction(orderTransactionId(merchantId, orderId));
      return tx ? toCredit(tx) : null;
    },

    /** Rule 4: writes the refund's (negative) points to the order's contact, once. */
    async deductRefund(input: {
      merchantId: string;
      orderId: number;
      refundId: number;
      amount: string;
      points: number;
      credit: OrderCredit;
    }): Promise<RefundResult> {
      const { transaction, created } = await store.ledger.record({
        _id: refundTransactionId(input.merchantId, input.refundId),
        merchantId: input.merchantId,
        contactId: new Types.ObjectId(input.credit.contactId),
        type: 'refund',
        orderId: input.orderId,
        refundId: input.refundId,
        amount: input.amount,
        currency: input.credit.currency,
        ...inDefaultCurrency(input.amount, input.credit.currency, input.credit.defaultCurrency, input.credit.exchangeRate),
        points: input.points,
        runId: currentRunId(),
      });
      const outcome = created || writtenByThisRun(transaction) ? 'deducted' : 'already_deducted';
      if (created) metrics.pointsDeducted.inc(-input.points);
      activityLogger().info({ merchantId: input.merchantId, orderId: input.orderId, refundId: input.refundId, points: transaction.points, outcome }, 'refund deduction');
      return { outcome, transactionId: transaction._id, points: transaction.points };
    },
  };
}

/** The run of the workflow this activity serves; none when called outside an activity (the bench's naive handler). */
function currentRunId(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.runId;
  } catch {
    return undefined;
  }
}

/** Written by an earlier attempt of this same workflow run (see TransactionDoc.runId). */
function writtenByThisRun(tx: Pick<TransactionDoc, 'runId'>): boolean {
  const runId = currentRunId();
  return runId !== undefined && tx.runId === runId;
}

type CreditRow = Pick<TransactionDoc, '_id' | 'points' | 'amount' | 'currency' | 'contactId' | 'defaultCurrency' | 'exchangeRate'>;

function toCredit(tx: CreditRow): OrderCredit {
  // Order rows always carry their amount (only redemptions have none).
  const credit: OrderCredit = { transactionId: tx._id, points: tx.points, totalIncTax: tx.amount ?? '0', currency: tx.currency, contactId: tx.contactId.toHexString() };
  // FerretDB drops null fields on read; a converted order carries its rate for its refunds.
  if (tx.exchangeRate && tx.defaultCurrency) Object.assign(credit, { defaultCurrency: tx.defaultCurrency, exchangeRate: tx.exchangeRate });
  return credit;
}

/** The record of an amount in the store's default currency (rule 1): converted on multi-currency orders, else the same. */
function inDefaultCurrency(amount: string, currency: string, defaultCurrency?: string, exchangeRate?: string) {
  if (!defaultCurrency || !exchangeRate) return { defaultAmount: amount, defaultCurrency: currency, exchangeRate: null };
  return { defaultAmount: formatDefaultTotal(defaultCurrencyTotal(amount, exchangeRate)), defaultCurrency, exchangeRate };
}
