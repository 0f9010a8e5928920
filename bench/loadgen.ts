/**
 * A load generator in its own process, so that its HTTP client does not share
 * the event loop (or the core) of the API it measures. Reads a spec (JSON file
 * named by argv[2]), prints {latencies, seconds, statuses} as JSON on stdout.
 *
 * Closed loop (`concurrency` callers, each sending its next request as soon as
 * the last answered) or, with `rate`, open loop: request i is due at i/rate s,
 * at most `concurrency` in flight, and its latency counts from when it was
 * due, so a stall shows in the figures instead of silently slowing the offer.
 */
import { readFileSync } from 'node:fs';

export interface LoadSpec {
  url: string;
  /** One URL per request, instead of `url` for all. */
  urls?: string[];
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** One body per request (its count is the number of requests), or none and `n` requests. */
  bodies?: string[];
  n?: number;
  concurrency: number;
  rate?: number;
}

async function main() {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;
  const n = spec.bodies?.length ?? spec.urls?.length ?? spec.n ?? 0;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const due = spec.rate ? started + (i * 1000) / spec.rate : performance.now();
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const res = await fetch(spec.urls?.[i] ?? spec.url, { method: spec.method, headers: spec.headers, body: spec.bodies?.[i] });
        await res.arrayBuffer();
        latencies.push(performance.now() - due);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    }),
  );
  process.stdout.write(JSON.stringify({ latencies, seconds: (performance.now() - started) / 1000, statuses }));
}

void main();
