import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './errors';

/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function secretEquals(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** `Authorization: Bearer $DASHBOARD_API_KEY` on dashboard routes. */
export function requireDashboardKey(apiKey: string): RequestHandler {
  return (req, _res, next) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (!m || !secretEquals(m[1], apiKey)) {
      return next(new HttpError(401, 'unauthorized', 'a valid "Authorization: Bearer <dashboard API key>" header is required'));
    }
    next();
  };
}
