import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/**
 * Activity proxies with the retry policies of each kind of work.
 *
 * Install-time calls give up on answers that retrying cannot change (a
 * rejected token, a missing scope) so the merchant sees `failed` at once.
 * Order and refund work never gives up on those: an order waits, retrying
 * with backoff up to an hour apart, until the merchant fixes the credentials.
 */
const PERMANENT = ['NotFound', 'BadResponse', 'MerchantGone'];

export const install = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 12,
    nonRetryableErrorTypes: [...PERMANENT, 'Unauthorized', 'MissingScope'],
  },
});

export const bigcommerce = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 hour', nonRetryableErrorTypes: PERMANENT },
});

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
