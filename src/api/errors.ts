import type { ErrorRequestHandler } from 'express';
import { z } from 'zod';
import type { Logger } from '../logger';

/** Every error body is {"error": {"code", "message", "details"}} (CONTRACT §3). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown) => new HttpError(400, 'bad_request', message, details);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);

/** zod issues as {field: message} details. */
export function validationError(error: z.ZodError, message = 'the request is not valid'): HttpError {
  const details: Record<string, string> = {};
  for (const issue of error.issues) details[issue.path.join('.') || '(body)'] ??= issue.message;
  return new HttpError(400, 'validation_failed', message, details);
}

/** The body of an error answer. */
export function errorBody(e: HttpError): { error: { code: string; message: string; details?: unknown } } {
  return { error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) } };
}

/** An error that is not an HttpError, logged with the request it failed, and answered 500 without its details. */
export function internalError(logger: Logger, err: unknown, method: string, path: string): HttpError {
  logger.error({ err, method, path }, 'request failed');
  return new HttpError(500, 'internal', 'something went wrong on our side; it has been logged');
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (err?.type === 'entity.too.large') e = new HttpError(413, 'payload_too_large', `the body is larger than ${err.limit} bytes`);
    else if (err?.type === 'entity.parse.failed') e = new HttpError(400, 'malformed_json', 'the body is not valid JSON');
    else e = internalError(logger, err, req.method, req.path);
    res.status(e.status).json(errorBody(e));
  };
}
