/** Typed BigCommerce failures; activities/failures.ts maps them to Temporal retry behaviour in one place. */
export class BigCommerceError extends Error {
  override name = 'BigCommerceError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** 429, or our own gate holding back a request until the store's window resets. */
export class RateLimitedError extends BigCommerceError {
  override name = 'RateLimited';
  constructor(
    message: string,
    /** How long BigCommerce asked us to wait; undefined for a header-less 429 (platform load). */
    readonly retryAfterMs: number | undefined,
  ) {
    super(message, 429);
  }
}

export class UnauthorizedError extends BigCommerceError {
  override name = 'Unauthorized';
}

export class MissingScopeError extends BigCommerceError {
  override name = 'MissingScope';
}

export class NotFoundError extends BigCommerceError {
  override name = 'NotFound';
}

/** 5xx, timeouts and network errors: worth retrying with backoff. */
export class TransientError extends BigCommerceError {
  override name = 'Transient';
}

/** A response that is not what BigCommerce documents (validation failed, 4xx we did not expect). */
export class BadResponseError extends BigCommerceError {
  override name = 'BadResponse';
}
