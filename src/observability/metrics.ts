import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus metrics of CONTRACT §3 (`GET /metrics` on METRICS_PORT): one
 * registry per process, the counters every layer shares, and the server that
 * serves them together with the Temporal SDK's own `temporal_*` series.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'loyalty_' });

/** Fine at the scale of a webhook's answer (milliseconds, BigCommerce wants it at once), coarse up to the signal's 5 s deadline. */
const ACK_BUCKETS = [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const metrics = {
  /** API: each BigCommerce callback, by scope and what became of it. */
  webhooks: new Counter({ name: 'loyalty_webhooks_total', help: 'BigCommerce webhooks received, by scope and outcome', labelNames: ['scope', 'outcome'], registers: [registry] }),
  pointsCredited: new Counter({ name: 'loyalty_points_credited_total', help: 'Points credited for orders (and given back by redemption reversals)', registers: [registry] }),
  pointsDeducted: new Counter({ name: 'loyalty_points_deducted_total', help: 'Points deducted for refunds and spent on redemptions', registers: [registry] }),
  bigcommerceRequests: new Counter({ name: 'loyalty_bigcommerce_requests_total', help: 'Requests to the BigCommerce API, by HTTP status (or network_error)', labelNames: ['status'], registers: [registry] }),
  reconciliationRecovered: new Counter({
    name: 'loyalty_reconciliation_recovered_total',
    help: 'What reconciliation sweeps recovered: orders and refunds whose webhook never came, webhooks repaired',
    labelNames: ['kind'],
    registers: [registry],
  }),
  /**
   * Worker: how long each BigCommerce request waited for this process's share of
   * the store's rate quota (RATE_LIMIT_SHARE; live work: order and refund fetches,
   * background: sweeps and imports). On a Standard plan a sale's orders wait here.
   */
  bigcommerceRateWait: new Histogram({
    name: 'loyalty_bigcommerce_rate_wait_seconds',
    help: "Time a BigCommerce request waited for this process's share of the store's rate-limit quota, by priority (live, background)",
    labelNames: ['priority'],
    buckets: [0.005, 0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  }),
  /**
   * API: where a webhook's answer waits. The hand-off runs from an authenticated,
   * parsed callback to its event being durable in Temporal: the group commit's
   * wait (its linger, a free signal slot) plus the signal that carried it.
   * The signal is timed as this process sees it: Temporal's frontend reports its
   * own part as `service_latency` (bench:pipeline prints both).
   */
  webhookHandoff: new Histogram({
    name: 'loyalty_webhook_handoff_seconds',
    help: 'Time from an authenticated webhook to its event held durably by Temporal: the wait for its signal (group commit) plus the signal',
    buckets: ACK_BUCKETS,
    registers: [registry],
  }),
  webhookSignal: new Histogram({
    name: 'loyalty_webhook_signal_seconds',
    help: 'Time from sending one signal of webhook events to Temporal accepting it, as the API sees it (the SDK client and this process included); signals that failed are not timed',
    buckets: ACK_BUCKETS,
    registers: [registry],
  }),
  webhookSignalEvents: new Histogram({
    name: 'loyalty_webhook_signal_events',
    help: 'Webhook events per signal (the group commit of one merchant)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 250],
    registers: [registry],
  }),
  /** API: 1 while the webhook route is pressed (a worker in the same process then yields: worker/ingest-first.ts). */
  webhookPressure: new Gauge({
    name: 'loyalty_webhook_pressure',
    help: '1 while 4 or more webhooks are in flight at once in this process, and for 250 ms after; a worker in the same process then runs fewer tasks (WORKER_YIELDS_TO_INGEST)',
    registers: [registry],
  }),
};

/** The default METRICS_PORT of each kind of process (CONTRACT §2); `npm start` serves both on the API's. */
export const DEFAULT_METRICS_PORT = { api: 9464, worker: 9465 } as const;

/**
 * Serves `GET /metrics` on `port` (0: off): this registry, then the Temporal
 * SDK's Prometheus text scraped from `sdkMetricsUrl` (the Rust core serves it
 * on an internal address of its own).
 */
export async function serveMetrics({ host, port, sdkMetricsUrl }: { host: string; port: number; sdkMetricsUrl?: string }): Promise<Server | undefined> {
  if (port === 0) return undefined;
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    void (async () => {
      let text = await registry.metrics();
      if (sdkMetricsUrl) {
        try {
          text += `\n${await (await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(2_000) })).text()}`;
        } catch {
          text += '\n# the Temporal SDK metrics did not answer\n';
        }
      }
      res.writeHead(200, { 'Content-Type': registry.contentType }).end(text);
    })().catch((err: Error) => res.writeHead(500).end(err.message));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
