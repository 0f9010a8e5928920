import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { BadResponseError, BigCommerceError, MissingScopeError, NotFoundError, RateLimitedError, UnauthorizedError } from '../bigcommerce/errors';

/** Failure types the workflows look at. */
export const FailureType = {
  RateLimited: 'RateLimited',
  Unauthorized: 'Unauthorized',
  MissingScope: 'MissingScope',
  NotFound: 'NotFound',
  BadResponse: 'BadResponse',
  MerchantGone: 'MerchantGone',
  /** The merchant is `failed` (credentials rejected or scopes missing): no call is made until a re-install. */
  MerchantSuspended: 'MerchantSuspended',
} as const;

/**
 * The one place BigCommerce errors become Temporal retry behaviour:
 * - 429: retryable, after the wait BigCommerce asked for, growing by a quarter
 *   for each further consecutive attempt, plus jitter (a header-less 429 is
 *   platform load: the retry policy's own backoff);
 * - 404 and malformed answers: not retryable (nothing will change them);
 * - 401 and 403: typed, retryable or not as the caller's retry policy says
 *   (install gives up at once; an order waits for fixed credentials);
 * - 5xx, timeouts, network errors: rethrown, retried with the policy's backoff.
 */
export function toFailure(err: unknown): unknown {
  if (err instanceof RateLimitedError) {
    if (err.retryAfterMs === undefined) return ApplicationFailure.create({ type: FailureType.RateLimited, message: err.message });
    const attempt = activityAttempt();
    const delay = Math.ceil(err.retryAfterMs * (1 + 0.25 * Math.min(attempt - 1, 8)) + Math.random() * 250);
    return ApplicationFailure.create({ type: FailureType.RateLimited, message: err.message, nextRetryDelay: delay });
  }
  const typed: Array<[new (...a: never[]) => BigCommerceError, string, boolean]> = [
    [UnauthorizedError, FailureType.Unauthorized, false],
    [MissingScopeError, FailureType.MissingScope, false],
    [NotFoundError, FailureType.NotFound, true],
    [BadResponseError, FailureType.BadResponse, true],
  ];
  for (const [cls, type, nonRetryable] of typed) {
    if (err instanceof cls) return ApplicationFailure.create({ type, message: err.message, nonRetryable });
  }
  return err;
}

function activityAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called outside an activity (unit tests)
  }
}

/** Wraps an activity so every error leaving it goes through toFailure. */
export function mapFailures<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw toFailure(err);
    }
  };
}
