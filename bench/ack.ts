import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { Histogram } from 'prom-client';
import { metrics } from '../src/observability/metrics';
import { sumSeries } from './prometheus';

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
 * The Temporal server's own histogram of how long its frontend took to answer
 * SignalWorkflowExecution (`service_latency`, in seconds, buckets from 1 ms to
 * 1 s and coarse: 1, 2, 5, 10, 20, 50 ms…), from its Prometheus text.
 */
async function serverSignalLatency(metricsUrl: string): Promise<Buckets> {
  const text = await (await fetch(metricsUrl)).text();
  const signals = ['operation="SignalWorkflowExecution"', 'service_name="frontend"'];
  const bounds = [...new Set(text.match(/^service_latency_bucket\{[^}]*operation="SignalWorkflowExecution"[^}]*\}/gm)?.map((l) => l.match(/le="([^"]+)"/)![1]!))]
    .map((raw) => ({ raw, le: raw === '+Inf' ? Number.POSITIVE_INFINITY : Number(raw) }))
    .sort((a, b) => a.le - b.le);
  return {
    le: bounds.map((b) => b.le),
    cumulative: bounds.map((b) => sumSeries(text, 'service_latency_bucket', ...signals, `le="${b.raw}"`)),
    count: sumSeries(text, 'service_latency_count', ...signals),
    sum: sumSeries(text, 'service_latency_sum', ...signals),
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
 * of this process's main thread; and, from `temporalMetricsUrl`, how long the
 * Temporal server itself took over the signals, without the way there and
 * back (nor this process's pauses meanwhile). Call it before the phase; the
 * function it answers, after, answers one line.
 */
export async function ackBreakdownSince(temporalMetricsUrl: string): Promise<() => Promise<string>> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const watched = [metrics.webhookHandoff, metrics.webhookSignal, metrics.webhookSignalEvents] as const;
  const before = await Promise.all(watched.map(read));
  const serverBefore = await serverSignalLatency(temporalMetricsUrl);
  const pauses: { ms: number; major: boolean }[] = [];
  const gc = new PerformanceObserver((list) => {
    // Each entry's detail.kind: a scavenge of the young generation (minor), a mark-compact of the old (major), an incremental step, weak callbacks.
    for (const entry of list.getEntries()) pauses.push({ ms: entry.duration, major: (entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR });
  });
  gc.observe({ entryTypes: ['gc'] });
  loop.enable();
  return async () => {
    loop.disable();
    gc.disconnect();
    const after = await Promise.all(watched.map(read));
    const [handoff, signal, events] = watched.map((_, i) => histogramBetween(before[i]!, after[i]!));
    const server = histogramBetween(serverBefore, await serverSignalLatency(temporalMetricsUrl));
    const ms = (s: number) => (s * 1000).toFixed(1);
    return [
      `hand-off p50 ${ms(handoff!.quantile(0.5))} p99 ${ms(handoff!.quantile(0.99))}`,
      `signal p50 ${ms(signal!.quantile(0.5))} p99 ${ms(signal!.quantile(0.99))} (${signal!.count} signals, ${events!.mean.toFixed(1)} events each)`,
      `in Temporal's frontend p50 ${ms(server.quantile(0.5))} p99 ${ms(server.quantile(0.99))} (mean ${ms(server.mean)})`,
      `event loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} max ${(loop.max / 1e6).toFixed(1)}`,
      `GC ${pauses.length} pauses, ${pauses.reduce((a, b) => a + b.ms, 0).toFixed(0)} ms in all, longest ${Math.max(0, ...pauses.map((p) => p.ms)).toFixed(1)}; of them ${pauses.filter((p) => p.major).length} of the old generation, longest ${Math.max(0, ...pauses.filter((p) => p.major).map((p) => p.ms)).toFixed(1)}`,
    ].join('; ');
  };
}
