import { ConfigError } from '../config';

/** Runs a command's `main`; a config error prints its message alone, anything else its stack; exit 1. */
export function runCli(main: () => Promise<void>): void {
  main().catch((err) => {
    process.stderr.write(`${err instanceof ConfigError ? err.message : ((err as Error).stack ?? String(err))}\n`);
    process.exit(1);
  });
}

/**
 * How long a wait of `elapsedMs` so far sleeps before its next poll: 150 ms at first, then a
 * tenth of the time waited, at most a second. A poll costs the system it watches (a merchant's
 * state is some 25 store reads), so a wait of minutes polls about once a second, and a short one
 * as often as before; a wait answers at most a tenth of its length, or a second, late.
 */
export function pollDelay(elapsedMs: number): number {
  return Math.min(1_000, Math.max(150, Math.round(elapsedMs / 10)));
}

/**
 * Polls `fn` until it answers something other than undefined/false, or throws after `timeoutMs`;
 * every `intervalMs` if given, else on the schedule of `pollDelay`.
 */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, what = 'condition', intervalMs?: number): Promise<T> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs ?? pollDelay(Date.now() - started)));
  }
}
