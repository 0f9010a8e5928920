import { ActivityFailure, ApplicationFailure, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/**
 * Activity proxies with the retry policies of each kind of work.
 *
 * BigCommerce calls give up at once on answers that retrying cannot change (a
 * rejected token, a missing scope, a merchant already failed): install turns
 * the merchant `failed`; order and refund work hands the problem to the
 * merchant and waits durably for a re-install (`withCredentials`), never
 * retrying against a dead token.
 */
const PERMANENT = ['NotFound', 'BadResponse', 'MerchantGone'];
export const CREDENTIAL_FAILURES = ['Unauthorized', 'MissingScope', 'MerchantSuspended'];

export const install = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 12,
    nonRetryableErrorTypes: [...PERMANENT, ...CREDENTIAL_FAILURES],
  },
});

/** Order and refund fetches: transient failures retried for ever, credential failures handed back at once. */
export const bigcommerce = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 hour', nonRetryableErrorTypes: [...PERMANENT, ...CREDENTIAL_FAILURES] },
});

/**
 * The same order fetch and ledger writes, as local activities: they run inside
 * the order's workflow task, so an order costs one workflow task instead of
 * three plus two activity tasks (both are short and idempotent; a retry after
 * a crash repeats the fetch and finds the first credit). Failures behave as in
 * `bigcommerce` and `store`.
 */
export const bigcommerceLocal = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 hour', nonRetryableErrorTypes: [...PERMANENT, ...CREDENTIAL_FAILURES] },
});
export const storeLocal = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: PERMANENT },
});

/** Reconciliation sweeps: paged, heartbeating, a few attempts; a sweep that fails is tried again at the next interval. */
export const reconcile = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: [...PERMANENT, ...CREDENTIAL_FAILURES] },
});

/**
 * Coupon calls: BigCommerce's transient failures (5xx, 429, timeouts) retried
 * for ever; a refusal for good (422, 403 for the marketing scope, 401, a
 * failed merchant) comes back at once, and the redemption gives the points back.
 */
export const coupons = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes', nonRetryableErrorTypes: [...PERMANENT, ...CREDENTIAL_FAILURES] },
});

/** Whether a failure says the credentials are dead (or the merchant is failed), rather than something passing. */
export function isCredentialFailure(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && CREDENTIAL_FAILURES.includes(cause.type ?? '');
}

/** Activities on our own store (ledger, merchant records): retried until the store answers. */
export const store = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: PERMANENT },
});

/** A failure in words fit for the state route's `lastError`. */
export function describeFailure(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    if (cause.type === 'Unauthorized') return 'BigCommerce rejected the access token (401 Unauthorized): check the API account and install again';
    return cause.type ? `${cause.type}: ${cause.message}` : cause.message;
  }
  return cause instanceof Error ? cause.message : String(cause);
}
