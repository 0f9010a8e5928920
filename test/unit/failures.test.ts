import { ApplicationFailure } from '@temporalio/common';
import { toFailure } from '../../src/activities/failures';
import { rateLimitWaitMs } from '../../src/bigcommerce/client';
import { BadResponseError, MissingScopeError, NotFoundError, RateLimitedError, TransientError, UnauthorizedError } from '../../src/bigcommerce/errors';

describe('toFailure: BigCommerce errors → Temporal retry behaviour', () => {
  test('a 429 with headers waits at least what BigCommerce asked', () => {
    const f = toFailure(new RateLimitedError('429', 1500)) as ApplicationFailure;
    expect(f.type).toBe('RateLimited');
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBeGreaterThanOrEqual(1500);
    expect(f.nextRetryDelay).toBeLessThan(1500 + 251);
  });
  test('a header-less 429 (platform load) leaves the backoff to the retry policy', () => {
    const f = toFailure(new RateLimitedError('429', undefined)) as ApplicationFailure;
    expect(f.type).toBe('RateLimited');
    expect(f.nextRetryDelay).toBeUndefined();
  });
  test.each([
    [new UnauthorizedError('x', 401), 'Unauthorized', false],
    [new MissingScopeError('x', 403), 'MissingScope', false],
    [new NotFoundError('x', 404), 'NotFound', true],
    [new BadResponseError('x', 400), 'BadResponse', true],
  ])('%s → type %s, nonRetryable %s', (err, type, nonRetryable) => {
    const f = toFailure(err) as ApplicationFailure;
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect([f.type, f.nonRetryable]).toEqual([type, nonRetryable]);
  });
  test('5xx and network errors are rethrown as they are (retried with backoff)', () => {
    const e = new TransientError('503', 503);
    expect(toFailure(e)).toBe(e);
  });
});

describe('rateLimitWaitMs', () => {
  const h = (o: Record<string, string>) => new Headers(o);
  test.each([
    [{ 'X-Rate-Limit-Time-Reset-Ms': '1200' }, 1200],
    [{ 'X-Retry-After': '3' }, 3000],
    [{ 'X-Rate-Limit-Time-Reset-Ms': '1200', 'X-Retry-After': '3' }, 3000],
    [{ 'X-Rate-Limit-Time-Reset-Ms': '5000', 'X-Retry-After': '3' }, 5000],
    [{}, undefined],
    [{ 'X-Retry-After': 'soon' }, undefined],
  ])('%j → %s', (headers, wait) => expect(rateLimitWaitMs(h(headers))).toBe(wait));
});
