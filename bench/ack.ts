import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { Histogram } from 'prom-client';
import { metrics } from '../src/observability/metrics';

type Buckets = { le: number[]; cumulative: number[]; count: number; sum: number };

async function read(h: Histogram): Promise<Buckets> {
  const { values } = await h.get();
  const buckets = values.filter((v) => v.metricName?.endsWith('_bucket'));
  return {
    le: buckets.map((v) => (v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le))),
    cumulative: buckets.map((v) => v.value),
    count: values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0,
    sum: values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0,
  };
}

/**
 * What a histogram of this process observed between `before` and `after`: the
 * count, the mean and a quantile, interpolated linearly within its bucket as
 * Prometheus's `histogram_quantile` does (so only as fine as the buckets).
 */
export function histogramBetween(before: Buckets, after: Buckets) {
  const cumulative = after.cumulative.map((n, i) => n - (before.cumulative[i] ?? 0));
  const count = after.count - before.count;
  const quantile = (q: number) => {
    if (count === 0) return Number.NaN;
    const rank = q * count;
    let lower = 0;
    let below = 0;
    for (const [i, n] of cumulative.entries()) {
      const le = after.le[i]!;
      if (n >= rank) return Number.isFinite(le) ? lower + ((le - lower) * (rank - below)) / Math.max(n - below, 1) : lower;
      lower = le;
      below = n;
    }
    return lower;
  };
  return { count, mean: count === 0 ? Number.NaN : (after.sum - before.sum) / count, quantile };
}

/**
 * Where the webhook answers of one phase waited, in this process (the API's):
 * the hand-off (group commit + signal), the signal alone, the events per signal
 * (`loyalty_webhook_*`, src/observability/metrics.ts), the event loop's delay
 * (Node's own histogram, at 1 ms resolution) and the garbage collector's pauses
 * of this process's main thread. Call it before the phase; the
 * function it answers, after, answers one line.
 */
export async function ackBreakdownSince(): Promise<() => Promise<string>> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const watched = [metrics.webhookHandoff, metrics.webhookSignal, metrics.webhookSignalEvents] as const;
  const before = await Promise.all(watched.map(read));
  const pauses: number[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  loop.enable();
  return async () => {
    loop.disable();
    gc.disconnect();
    const after = await Promise.all(watched.map(read));
    const [handoff, signal, events] = watched.map((_, i) => histogramBetween(before[i]!, after[i]!));
    const ms = (s: number) => (s * 1000).toFixed(1);
    return [
      `hand-off p50 ${ms(handoff!.quantile(0.5))} p99 ${ms(handoff!.quantile(0.99))}`,
      `signal p50 ${ms(signal!.quantile(0.5))} p99 ${ms(signal!.quantile(0.99))} (${signal!.count} signals, ${events!.mean.toFixed(1)} events each)`,
      `event loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} max ${(loop.max / 1e6).toFixed(1)}`,
      `GC ${pauses.length} pauses, ${pauses.reduce((a, b) => a + b, 0).toFixed(0)} ms in all, longest ${Math.max(0, ...pauses).toFixed(1)}`,
    ].join('; ');
  };
}
