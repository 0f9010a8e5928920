import { z } from 'zod';
import { BadResponseError, MissingScopeError, NotFoundError, RateLimitedError, TransientError, UnauthorizedError } from './errors';
import {
  type CouponCode,
  CouponCodeSchema,
  type Hook,
  HookSchema,
  type Order,
  OrderSchema,
  type Promotion,
  PromotionSchema,
  type Refund,
  RefundSchema,
  v3List,
  v3One,
} from './schemas';
import { metrics } from '../observability/metrics';
import { budgetFor, type Priority, type RateBudget, rateHeaders } from './rate-budget';
import { type Scope, SCOPE_PROBES, scopePresent } from './scopes';

export interface ClientOptions {
  /** https://api.bigcommerce.com/stores/{store_hash} */
  apiBase: string;
  accessToken: string;
  timeoutMs?: number;
  /** The largest share of the store's quota this process uses in a window (RATE_LIMIT_SHARE). */
  rateLimitShare?: number;
  /** Background work (sweeps, imports) yields to live work when the budget runs low. */
  priority?: Priority;
}

/** The wait BigCommerce asks for: the longer of the window reset and X-Retry-After. */
export function rateLimitWaitMs(headers: Headers): number | undefined {
  const reset = Number(headers.get('x-rate-limit-time-reset-ms'));
  const retryAfter = Number(headers.get('x-retry-after')) * 1000;
  const wait = Math.max(Number.isFinite(reset) ? reset : 0, Number.isFinite(retryAfter) ? retryAfter : 0);
  return wait > 0 ? wait : undefined;
}

interface RawResponse {
  status: number;
  body: unknown;
}

export class BigCommerceClient {
  private readonly timeoutMs: number;
  private readonly budget: RateBudget;

  constructor(private readonly opts: ClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.budget = budgetFor(opts.apiBase, opts.rateLimitShare ?? 0.8);
  }

  /** The same account at another priority, sharing the store's budget. */
  withPriority(priority: Priority): BigCommerceClient {
    return new BigCommerceClient({ ...this.opts, priority });
  }

  /** One HTTP exchange. Statuses in `pass` are returned; every other non-2xx becomes a typed error. */
  private async send(method: string, path: string, body?: unknown, pass: number[] = []): Promise<RawResponse> {
    const priority = this.opts.priority ?? 'live';
    const waitStarted = performance.now();
    const window = await this.budget.acquire(priority);
    metrics.bigcommerceRateWait.observe({ priority }, (performance.now() - waitStarted) / 1000);
    let res: Response;
    try {
      res = await fetch(this.opts.apiBase + path, {
        method,
        headers: {
          'X-Auth-Token': this.opts.accessToken,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      this.budget.settle(undefined, window);
      metrics.bigcommerceRequests.inc({ status: 'network_error' });
      const e = err as Error;
      throw new TransientError(`${method} ${path}: ${e.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : e.message}`);
    }
    this.budget.settle(rateHeaders(res.headers), window);
    metrics.bigcommerceRequests.inc({ status: String(res.status) });
    const text = await res.text();
    if (res.status === 429) {
      const wait = rateLimitWaitMs(res.headers);
      if (wait !== undefined) this.budget.blockFor(wait);
    }
    if (res.ok || pass.includes(res.status)) {
      let parsed: unknown = null;
      if (res.status !== 204 && text.length > 0) {
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new BadResponseError(`${method} ${path}: answered ${res.status} with a body that is not JSON`, res.status);
        }
      }
      return { status: res.status, body: parsed };
    }
    const what = `${method} ${path} → ${res.status}`;
    switch (true) {
      case res.status === 429:
        throw new RateLimitedError(`${what}: rate limited`, rateLimitWaitMs(res.headers));
      case res.status === 401:
        throw new UnauthorizedError(`${what}: BigCommerce rejected the access token`, 401);
      case res.status === 403:
        throw new MissingScopeError(`${what}: the token lacks a scope this needs`, 403);
      case res.status === 404:
        throw new NotFoundError(`${what}: not found`, 404);
      case res.status >= 500:
        throw new TransientError(`${what}: server error`, res.status);
      default:
        throw new BadResponseError(`${what}: ${text.slice(0, 300)}`, res.status);
    }
  }

  private parse<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
    const r = schema.safeParse(body);
    if (!r.success) throw new BadResponseError(`${what}: unexpected response shape: ${z.prettifyError(r.error)}`);
    return r.data;
  }

  /** Whether the token has `scope`, by probing the endpoint that needs it. */
  async hasScope(scope: Scope): Promise<boolean> {
    const probe = SCOPE_PROBES[scope];
    const res = await this.send(probe.method, probe.path, probe.body, [400, 403, 404, 422]);
    return scopePresent(res.status);
  }

  /** The v2 order, or null when BigCommerce does not know it. */
  async getOrder(orderId: number): Promise<Order | null> {
    const res = await this.send('GET', `/v2/orders/${orderId}`, undefined, [404]);
    if (res.status === 404) return null;
    return this.parse(OrderSchema, res.body, `order ${orderId}`);
  }

  /** Every refund of an order, sorted by id. */
  async listOrderRefunds(orderId: number): Promise<Refund[]> {
    const res = await this.send('GET', `/v3/orders/${orderId}/payment_actions/refunds`);
    const refunds = res.status === 204 ? [] : this.parse(v3List(RefundSchema), res.body, `refunds of order ${orderId}`).data;
    return refunds.sort((a, b) => a.id - b.id);
  }

  /**
   * One page of orders, as `GET /v2/orders` filters and sorts them (an empty
   * page is BigCommerce's 204). Dates are sent as ISO 8601, which v2 accepts.
   */
  async listOrders(q: { minDateModified?: Date; minDateCreated?: Date; sort: 'date_modified:asc' | 'id:asc'; page: number; limit: number }): Promise<Order[]> {
    const params = new URLSearchParams({ sort: q.sort, page: String(q.page), limit: String(q.limit) });
    if (q.minDateModified) params.set('min_date_modified', q.minDateModified.toISOString().replace(/\.\d{3}Z$/, 'Z'));
    if (q.minDateCreated) params.set('min_date_created', q.minDateCreated.toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const res = await this.send('GET', `/v2/orders?${params}`);
    if (res.status === 204) return [];
    return this.parse(z.array(OrderSchema), res.body, 'orders');
  }

  /** One page of the store's refunds created at or after `createdMin`, by id; and how many pages there are. */
  async listRefunds(q: { createdMin: Date; page: number; limit: number }): Promise<{ refunds: Refund[]; totalPages: number }> {
    const params = new URLSearchParams({ 'created:min': q.createdMin.toISOString(), page: String(q.page), limit: String(q.limit) });
    const res = await this.send('GET', `/v3/orders/payment_actions/refunds?${params}`);
    if (res.status === 204) return { refunds: [], totalPages: 0 };
    const list = this.parse(v3List(RefundSchema), res.body, 'refunds');
    return { refunds: list.data, totalPages: list.meta?.pagination?.total_pages ?? 1 };
  }

  /** Promotions named exactly `name` (names are not documented as unique: the caller decides). */
  async findPromotions(name: string): Promise<Promotion[]> {
    const res = await this.send('GET', `/v3/promotions?${new URLSearchParams({ name })}`);
    if (res.status === 204) return [];
    return this.parse(v3List(PromotionSchema), res.body, 'promotions').data.filter((p) => p.name === name);
  }

  async createPromotion(promotion: Record<string, unknown>): Promise<Promotion> {
    const res = await this.send('POST', '/v3/promotions', promotion);
    return this.parse(v3One(PromotionSchema), res.body, 'created promotion').data;
  }

  /** Deletes a promotion; one already gone counts as deleted. */
  async deletePromotion(id: number): Promise<void> {
    await this.send('DELETE', `/v3/promotions/${id}`, undefined, [404]);
  }

  async listCouponCodes(promotionId: number): Promise<CouponCode[]> {
    const res = await this.send('GET', `/v3/promotions/${promotionId}/codes`);
    if (res.status === 204) return [];
    return this.parse(v3List(CouponCodeSchema), res.body, `codes of promotion ${promotionId}`).data;
  }

  async createCouponCode(promotionId: number, code: { code: string; max_uses: number; max_uses_per_customer: number }): Promise<CouponCode> {
    const res = await this.send('POST', `/v3/promotions/${promotionId}/codes`, code);
    return this.parse(v3One(CouponCodeSchema), res.body, 'created coupon code').data;
  }

  /** The hooks of this API account (BigCommerce lists only the token's own client's hooks). */
  async listHooks(): Promise<Hook[]> {
    const hooks: Hook[] = [];
    for (let page = 1; ; page++) {
      const res = await this.send('GET', `/v3/hooks?page=${page}&limit=250`);
      if (res.status === 204) break;
      const list = this.parse(v3List(HookSchema), res.body, 'hooks');
      hooks.push(...list.data);
      const p = list.meta?.pagination;
      if (!p || p.current_page >= p.total_pages || list.data.length === 0) break;
    }
    return hooks;
  }

  async createHook(hook: { scope: string; destination: string; headers: Record<string, string> }): Promise<Hook> {
    const res = await this.send('POST', '/v3/hooks', { ...hook, is_active: true });
    return this.parse(v3One(HookSchema), res.body, 'created hook').data;
  }

  async updateHook(id: number, patch: { destination?: string; is_active?: boolean; headers?: Record<string, string> }): Promise<Hook> {
    const res = await this.send('PUT', `/v3/hooks/${id}`, patch);
    return this.parse(v3One(HookSchema), res.body, `hook ${id}`).data;
  }

  /** Deletes a hook; one that is already gone counts as deleted. */
  async deleteHook(id: number): Promise<void> {
    await this.send('DELETE', `/v3/hooks/${id}`, undefined, [404]);
  }
}
