import type { Logger } from '../logger';

/** The `http` line every answer is logged with: method, path (without its query), status, and milliseconds since `startedNs`. */
export function logAnswer(logger: Logger, method: string, path: string, status: number, startedNs: bigint): void {
  const ms = Number(process.hrtime.bigint() - startedNs) / 1e6;
  logger.info({ method, path, status, ms: Math.round(ms * 10) / 10 }, 'http');
}
