import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { type Scope } from '../bigcommerce/scopes';
import { amountFromNumber, formatAmount, parseAmount } from '../ledger/points';
import { WebhookDelivery } from './delivery';
import {
  ALL_SCOPES,
  type ApiAccount,
  type Fault,
  makeOrder,
  makeRefund,
  newAccount,
  newStore,
  type NewOrder,
  type RequestRecord,
  OAUTH_SCOPE,
  rfc2822,
  type SandboxCouponCode,
  type SandboxOrder,
  type SandboxPromotion,
  type SandboxRefund,
  type SandboxStoreState,
  STATUS_NAMES,
} from './model';

export interface SandboxOptions {
  port?: number;
  /** Multiplies BigCommerce's webhook retry schedule (1 = real time; 0.001 turns 60 s into 60 ms). */
  retryTimeScale?: number;
  /** Default rate limit of new stores. */
  rateLimit?: { quota: number; windowMs: number };
}

export interface SandboxAccount {
  storeHash: string;
  accessToken: string;
  clientId: string;
  clientSecret: string;
  apiPath: string;
  /** The account as BigCommerce's downloaded text file. */
  credentialsFile: string;
}

/**
 * A BigCommerce look-alike for tests, the demo and benchmarks: v2 orders
 * (204 on empty lists, RFC 2822 dates, 4-decimal strings), v3 refunds and
 * hooks, 401/403 as BigCommerce answers them, the rate-limit headers and 429s,
 * injectable latency, 5xx and 429 bursts, and webhook delivery with retries.
 */
export class Sandbox {
  readonly stores = new Map<string, SandboxStoreState>();
  readonly delivery: WebhookDelivery;
  private server?: Server;
  url = '';

  constructor(private readonly opts: SandboxOptions = {}) {
    this.delivery = new WebhookDelivery(opts.retryTimeScale ?? 1, (store, clientId) =>
      [...store.accounts.values()].find((a) => a.clientId === clientId)?.clientSecret,
    );
  }

  async start(): Promise<this> {
    const app = this.app();
    await new Promise<void>((resolve, reject) => {
      this.server = app.listen(this.opts.port ?? 0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve()));
    });
    const addr = this.server!.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}`;
    return this;
  }

  async close(): Promise<void> {
    this.delivery.close();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- programmatic API (tests, demo, bench) ----

  createStore(opts: { hash?: string; rateLimit?: { quota: number; windowMs: number } } = {}): SandboxStoreState {
    const store = newStore(opts.hash, opts.rateLimit ?? this.opts.rateLimit);
    this.stores.set(store.hash, store);
    return store;
  }

  /** An API account; by default with every scope the integration needs, at modify level. */
  createAccount(storeHash: string, opts: { scopes?: string[]; without?: Scope[] } = {}): SandboxAccount {
    const store = this.store(storeHash);
    const without = new Set((opts.without ?? []).map((s) => OAUTH_SCOPE[s]));
    const account = newAccount((opts.scopes ?? ALL_SCOPES).filter((s) => !without.has(s) && !without.has(s.replace(/_read_only$/, ''))));
    store.accounts.set(account.accessToken, account);
    return this.describe(store, account);
  }

  setScopes(accessToken: string, scopes: string[]): void {
    this.account(accessToken).scopes = new Set(scopes);
  }

  revoke(accessToken: string): void {
    this.account(accessToken).revoked = true;
  }

  createOrder(storeHash: string, order: NewOrder): SandboxOrder {
    const store = this.store(storeHash);
    const created = makeOrder(store.nextOrderId++, order);
    store.orders.set(created.id, created);
    this.delivery.fire(store, 'store/order/created', { type: 'order', id: created.id });
    return created;
  }

  setOrderStatus(storeHash: string, orderId: number, statusId: number): SandboxOrder {
    const store = this.store(storeHash);
    const order = this.order(store, orderId);
    const previous = order.status_id;
    order.status_id = statusId;
    order.status = STATUS_NAMES[statusId] ?? 'Unknown';
    order.date_modified = rfc2822(new Date());
    this.delivery.fire(store, 'store/order/statusUpdated', { type: 'order', id: orderId, status: { previous_status_id: previous, new_status_id: statusId } });
    return order;
  }

  /** A refund made with BigCommerce's Refund feature: the refund webhook, then the status change to 14 or 4. */
  createRefund(storeHash: string, orderId: number, amount: number): SandboxRefund {
    const store = this.store(storeHash);
    const order = this.order(store, orderId);
    const refund = makeRefund(store.nextRefundId++, orderId, amount);
    store.refunds.push(refund);
    const refunded = parseAmount(order.refunded_amount) + amountFromNumber(amount);
    order.refunded_amount = formatAmount(refunded);
    this.delivery.fire(store, 'store/order/refund/created', { type: 'order', id: orderId, refund: { refund_id: refund.id } });
    this.setOrderStatus(storeHash, orderId, refunded >= parseAmount(order.total_inc_tax) ? 4 : 14);
    return refund;
  }

  hooks(storeHash: string) {
    return [...this.store(storeHash).hooks.values()];
  }

  /** The merchant deletes a hook in the control panel (or an app removes it). */
  deleteHook(storeHash: string, hookId: number): void {
    if (!this.store(storeHash).hooks.delete(hookId)) throw new Error(`no hook ${hookId} in store ${storeHash}`);
  }

  /** What BigCommerce does after the last failed retry, or after 90 days without events. */
  deactivateHook(storeHash: string, hookId: number): void {
    const hook = this.store(storeHash).hooks.get(hookId);
    if (!hook) throw new Error(`no hook ${hookId}`);
    hook.is_active = false;
  }

  /** Faults answered to the next requests of the store, one per request, in order. */
  injectFaults(storeHash: string, ...faults: Fault[]): void {
    this.store(storeHash).faults.push(...faults);
  }

  setLatency(storeHash: string, ms: number): void {
    this.store(storeHash).latencyMs = ms;
  }

  requests(storeHash: string) {
    return this.store(storeHash).requests;
  }

  store(hash: string): SandboxStoreState {
    const store = this.stores.get(hash);
    if (!store) throw new Error(`no sandbox store ${hash}`);
    return store;
  }

  private account(token: string): ApiAccount {
    for (const s of this.stores.values()) {
      const a = s.accounts.get(token);
      if (a) return a;
    }
    throw new Error('no such access token');
  }

  private order(store: SandboxStoreState, id: number): SandboxOrder {
    const order = store.orders.get(id);
    if (!order) throw new Error(`no order ${id} in store ${store.hash}`);
    return order;
  }

  private describe(store: SandboxStoreState, a: ApiAccount): SandboxAccount {
    const apiPath = `${this.url}/stores/${store.hash}/v3/`;
    return {
      storeHash: store.hash,
      accessToken: a.accessToken,
      clientId: a.clientId,
      clientSecret: a.clientSecret,
      apiPath,
      credentialsFile: [
        `ACCESS TOKEN: ${a.accessToken}`,
        `CLIENT NAME: Loyalty integration`,
        `API PATH: ${apiPath}`,
        `CLIENT ID: ${a.clientId}`,
        `CLIENT SECRET: ${a.clientSecret}`,
        '',
      ].join('\n'),
    };
  }

  /** A shopper uses a coupon code at checkout. */
  useCoupon(storeHash: string, code: string): void {
    for (const p of this.store(storeHash).promotions.values()) {
      const c = p.codes.find((x) => x.code === code);
      if (!c) continue;
      if (c.current_uses >= c.max_uses) throw new Error(`coupon ${code} is used up`);
      c.current_uses++;
      p.current_uses++;
      return;
    }
    throw new Error(`no coupon ${code} in store ${storeHash}`);
  }

  promotions(storeHash: string): SandboxPromotion[] {
    return [...this.store(storeHash).promotions.values()];
  }

  // ---- HTTP ----

  /** v3 promotions and their codes (promotions.v3.yml): 201 on create, 204 on delete, 422 for bad input. */
  private promotionRoutes(
    app: express.Express,
    base: string,
    need: (scopes: Scope[], level?: 'read' | 'modify') => express.RequestHandler,
    v3Error: (res: Response, status: number, title: string) => unknown,
  ): void {
    const store = (res: Response) => res.locals.store as SandboxStoreState;
    const invalid = (res: Response, errors: Record<string, string>) => void res.status(422).json({ status: 422, title: 'Input is invalid', type: '', errors });
    const view = ({ codes: _codes, ...p }: SandboxPromotion) => p;
    const list = (res: Response, data: unknown[]) =>
      res.json({ data, meta: { pagination: { total: data.length, count: data.length, per_page: 50, current_page: 1, total_pages: 1 } } });

    app.get(`${base}/v3/promotions`, need(['marketing']), (req, res) => {
      const { name, code } = req.query as Record<string, string | undefined>;
      const found = [...store(res).promotions.values()].filter((p) => (name === undefined || p.name === name) && (code === undefined || p.codes.some((c) => c.code === code)));
      list(res, found.map(view));
    });
    app.post(`${base}/v3/promotions`, need(['marketing'], 'modify'), (req, res) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      const errors: Record<string, string> = {};
      if (typeof b.name !== 'string' || b.name.length === 0) errors.name = 'name is required';
      if (b.redemption_type !== 'COUPON' && b.redemption_type !== 'AUTOMATIC') errors.redemption_type = 'redemption_type is required';
      if (!Array.isArray(b.rules) || b.rules.length === 0) errors.rules = 'rules are required';
      const fixed = JSON.stringify(b.rules ?? []).includes('fixed_amount');
      if (fixed && (typeof b.currency_code !== 'string' || b.currency_code === '*')) errors.currency_code = 'a fixed amount needs one currency';
      if (Object.keys(errors).length > 0) return invalid(res, errors);
      const s = store(res);
      const promotion: SandboxPromotion = {
        id: s.nextPromotionId++,
        name: b.name as string,
        redemption_type: b.redemption_type as 'COUPON',
        coupon_type: b.coupon_type === 'BULK' ? 'BULK' : 'SINGLE',
        rules: b.rules as unknown[],
        max_uses: typeof b.max_uses === 'number' ? b.max_uses : null,
        current_uses: 0,
        end_date: typeof b.end_date === 'string' ? b.end_date : null,
        status: typeof b.status === 'string' ? b.status : 'ENABLED',
        currency_code: typeof b.currency_code === 'string' ? b.currency_code : '*',
        can_be_used_with_other_promotions: b.can_be_used_with_other_promotions === true,
        created_at: new Date().toISOString(),
        codes: [],
      };
      s.promotions.set(promotion.id, promotion);
      res.status(201).json({ data: view(promotion), meta: {} });
    });
    app.delete(`${base}/v3/promotions/:id`, need(['marketing'], 'modify'), (req, res) => {
      store(res).promotions.delete(Number(req.params.id)); // 204 also when already gone
      res.status(204).end();
    });
    app.get(`${base}/v3/promotions/:id/codes`, need(['marketing']), (req, res) => {
      const p = store(res).promotions.get(Number(req.params.id));
      if (!p) return void v3Error(res, 404, 'Promotion not found');
      list(res, p.codes);
    });
    app.post(`${base}/v3/promotions/:id/codes`, need(['marketing'], 'modify'), (req, res) => {
      const s = store(res);
      const p = s.promotions.get(Number(req.params.id));
      if (!p) return void v3Error(res, 404, 'Promotion not found');
      const b = (req.body ?? {}) as Record<string, unknown>;
      if (typeof b.code !== 'string' || !/^[A-Za-z0-9 _-]{1,50}$/.test(b.code)) return invalid(res, { code: 'up to 50 letters, digits, spaces, _ and -' });
      if ([...s.promotions.values()].some((x) => x.codes.some((c) => c.code === b.code))) return invalid(res, { code: 'the code is in use' });
      const code: SandboxCouponCode = {
        id: p.id * 1000 + p.codes.length + 1,
        code: b.code,
        current_uses: 0,
        max_uses: typeof b.max_uses === 'number' ? b.max_uses : 0,
        max_uses_per_customer: typeof b.max_uses_per_customer === 'number' ? b.max_uses_per_customer : 0,
        created: new Date().toISOString(),
      };
      p.codes.push(code);
      res.status(201).json({ data: code, meta: {} });
    });
  }

  private app(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.use(express.json({ limit: '1mb' }));
    app.use('/__sandbox', this.adminRoutes());
    app.use('/stores/:hash', (req: Request, res: Response, next: NextFunction) => void this.gate(req, res, next));
    this.apiRoutes(app);
    return app;
  }

  /** Auth, rate limiting, injected faults and latency, and the request log: what every API call goes through. */
  private async gate(req: Request, res: Response, next: NextFunction): Promise<void> {
    const store = this.stores.get(String(req.params.hash));
    const record: RequestRecord = { at: Date.now(), method: req.method, path: req.originalUrl.replace(/^\/stores\/[^/]+/, ''), status: 0 };
    res.on('finish', () => (record.status = res.statusCode));
    if (!store) return void res.status(404).json({ status: 404, title: 'Store not found', type: 'https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes' });
    store.requests.push(record);
    if (store.latencyMs > 0) await new Promise((r) => setTimeout(r, store.latencyMs));

    const now = Date.now();
    const rate = store.rate;
    if (now - rate.windowStart >= rate.windowMs) {
      rate.windowStart = now;
      rate.used = 0;
    }
    const resetMs = rate.windowStart + rate.windowMs - now;
    const rateHeaders = (left: number, reset: number) => ({
      'X-Rate-Limit-Time-Window-Ms': String(rate.windowMs),
      'X-Rate-Limit-Time-Reset-Ms': String(reset),
      'X-Rate-Limit-Requests-Quota': String(rate.quota),
      'X-Rate-Limit-Requests-Left': String(Math.max(0, left)),
    });

    const slow = store.faults.findIndex((f) => f.kind === 'slow-response' && f.method === req.method && record.path.split('?')[0] === f.path);
    if (slow >= 0) {
      const [f] = store.faults.splice(slow, 1) as [Extract<Fault, { kind: 'slow-response' }>];
      const send = res.send.bind(res);
      res.send = ((body: unknown) => {
        setTimeout(() => send(body), f.ms);
        return res;
      }) as typeof res.send;
    }
    const due = store.faults.findIndex((f) => f.kind !== 'slow-response');
    const fault = due >= 0 ? store.faults.splice(due, 1)[0] : undefined;
    if (fault?.kind === '429') {
      record.retryAt = now + Math.max(fault.resetMs, (fault.retryAfterS ?? 0) * 1000);
      res.set({ ...rateHeaders(0, fault.resetMs), 'X-Retry-After': String(fault.retryAfterS ?? Math.ceil(fault.resetMs / 1000)) });
      return void res.status(429).json({ status: 429, title: 'Too many requests', type: 'https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes' });
    }
    if (fault?.kind === '429-bare') return void res.status(429).send('');
    if (fault?.kind === '500') return void res.status(500).json({ status: 500, title: 'Internal Server Error', type: '' });

    if (rate.used >= rate.quota) {
      record.retryAt = now + resetMs;
      res.set({ ...rateHeaders(0, resetMs), 'X-Retry-After': String(Math.ceil(resetMs / 1000)) });
      return void res.status(429).json({ status: 429, title: 'Too many requests', type: '' });
    }
    rate.used++;
    record.windowStart = rate.windowStart;
    res.set(rateHeaders(rate.quota - rate.used, resetMs));

    const account = store.accounts.get(req.get('x-auth-token') ?? '');
    if (!account || account.revoked) {
      return void res.status(401).json({ status: 401, title: 'Unauthorized: the access token is missing or invalid', type: '' });
    }
    res.locals.store = store;
    res.locals.account = account;
    next();
  }

  private apiRoutes(app: express.Express): void {
    const store = (res: Response) => res.locals.store as SandboxStoreState;
    const account = (res: Response) => res.locals.account as ApiAccount;
    const v2Error = (res: Response, status: number, message: string) => res.status(status).json([{ status, message }]);
    const v3Error = (res: Response, status: number, title: string) => res.status(status).json({ status, title, type: '' });
    /** Read needs the scope or its _read_only twin; modify needs the scope itself. */
    const need =
      (scopes: Scope[], level: 'read' | 'modify' = 'read') =>
      (_req: Request, res: Response, next: NextFunction) => {
        const have = account(res).scopes;
        const ok = scopes.some((s) => have.has(OAUTH_SCOPE[s]) || (level === 'read' && have.has(`${OAUTH_SCOPE[s]}_read_only`)));
        if (!ok) return void v3Error(res, 403, "You don't have a required scope to access the endpoint");
        next();
      };
    const page = (res: Response, data: unknown[]) =>
      res.json({ data, meta: { pagination: { total: data.length, count: data.length, per_page: 250, current_page: 1, total_pages: 1 } } });
    const base = '/stores/:hash';

    app.get(`${base}/v3/customers`, need(['customers']), (_req, res) => void page(res, []));
    this.promotionRoutes(app, base, need, v3Error);
    app.get(`${base}/v3/catalog/products`, need(['products']), (_req, res) => void page(res, []));
    app.get(`${base}/v3/carts/:id`, need(['carts']), (_req, res) => void v3Error(res, 404, 'Cart not found'));
    app.get(`${base}/v3/checkouts/:id`, need(['checkouts']), (_req, res) => void v3Error(res, 404, 'Checkout not found'));
    app.get(`${base}/v3/orders/:id/transactions`, need(['order_transactions']), (req, res) => {
      if (!store(res).orders.has(Number(req.params.id))) return void v3Error(res, 404, 'Order not found');
      page(res, []);
    });

    app.get(`${base}/v2/orders`, need(['orders']), (req, res) => {
      const q = req.query as Record<string, string | undefined>;
      const limit = Math.min(Number(q.limit ?? 50) || 50, 250);
      const pageNo = Math.max(Number(q.page ?? 1) || 1, 1);
      const dates: Array<[string, keyof SandboxOrder, 'min' | 'max']> = [
        ['min_date_created', 'date_created', 'min'],
        ['max_date_created', 'date_created', 'max'],
        ['min_date_modified', 'date_modified', 'min'],
        ['max_date_modified', 'date_modified', 'max'],
      ];
      let list = [...store(res).orders.values()];
      for (const [param, field, kind] of dates) {
        if (q[param] === undefined) continue;
        const bound = Date.parse(q[param]!); // RFC 2822 or ISO 8601, as BigCommerce accepts
        if (Number.isNaN(bound)) return void v2Error(res, 400, `The field '${param}' is invalid.`);
        list = list.filter((o) => (kind === 'min' ? Date.parse(o[field] as string) >= bound : Date.parse(o[field] as string) <= bound));
      }
      if (q.min_id) list = list.filter((o) => o.id >= Number(q.min_id));
      if (q.max_id) list = list.filter((o) => o.id <= Number(q.max_id));
      if (q.status_id) list = list.filter((o) => o.status_id === Number(q.status_id));
      const [sortField = 'id', direction = 'asc'] = (q.sort ?? 'id:asc').split(':');
      const key = (o: SandboxOrder) => (sortField === 'id' ? o.id : Date.parse(String(o[sortField as keyof SandboxOrder])));
      list.sort((a, b) => (key(a) - key(b) || a.id - b.id) * (direction === 'desc' ? -1 : 1));
      list = list.slice((pageNo - 1) * limit, pageNo * limit);
      if (list.length === 0) return void res.status(204).end(); // v2 lists answer 204 when empty
      res.json(list);
    });
    app.get(`${base}/v2/orders/:id`, need(['orders']), (req, res) => {
      const order = store(res).orders.get(Number(req.params.id));
      if (!order) return void v2Error(res, 404, 'The requested resource was not found.');
      res.json(order);
    });

    const refundScopes: Scope[] = ['orders', 'order_transactions'];
    app.get(`${base}/v3/orders/payment_actions/refunds`, need(refundScopes), (req, res) => {
      const q = req.query as Record<string, string | undefined>;
      const limit = Math.min(Number(q.limit ?? 50) || 50, 250);
      const pageNo = Math.max(Number(q.page ?? 1) || 1, 1);
      let list = [...store(res).refunds].sort((a, b) => a.id - b.id);
      for (const [param, kind] of [['created:min', 'min'], ['created:max', 'max']] as const) {
        if (q[param] === undefined) continue;
        const bound = Date.parse(q[param]!);
        if (Number.isNaN(bound)) return void res.status(422).json({ status: 422, title: 'Input is invalid', type: '', errors: { [param]: 'must be RFC 3339' } });
        list = list.filter((r) => (kind === 'min' ? Date.parse(r.created) >= bound : Date.parse(r.created) <= bound));
      }
      if (q['order_id:in']) {
        const ids = new Set(q['order_id:in'].split(',').map(Number));
        list = list.filter((r) => ids.has(r.order_id));
      }
      const totalPages = Math.max(1, Math.ceil(list.length / limit));
      const data = list.slice((pageNo - 1) * limit, pageNo * limit);
      res.json({ data, meta: { pagination: { total: list.length, count: data.length, per_page: limit, current_page: pageNo, total_pages: totalPages } } });
    });
    app.get(`${base}/v3/orders/payment_actions/refunds/:refundId`, need(refundScopes), (req, res) => {
      const refund = store(res).refunds.find((r) => r.id === Number(req.params.refundId));
      if (!refund) return void v3Error(res, 404, 'Refund not found');
      res.json({ data: refund, meta: {} });
    });
    app.get(`${base}/v3/orders/:id/payment_actions/refunds`, need(refundScopes), (req, res) => {
      const orderId = Number(req.params.id);
      if (!store(res).orders.has(orderId)) return void v3Error(res, 404, 'Order not found');
      page(res, store(res).refunds.filter((r) => r.order_id === orderId).sort((a, b) => a.id - b.id));
    });

    // Hooks need no OAuth scope; each client sees only its own.
    app.get(`${base}/v3/hooks`, (_req, res) => {
      page(res, [...store(res).hooks.values()].filter((h) => h.client_id === account(res).clientId));
    });
    app.post(`${base}/v3/hooks`, (req, res) => {
      const s = store(res);
      const { scope, destination, is_active = true, headers = {} } = req.body ?? {};
      if (typeof scope !== 'string' || typeof destination !== 'string') {
        return void res.status(422).json({ status: 422, title: 'Input is invalid', type: '', errors: { scope: 'required', destination: 'required' } });
      }
      const clash = [...s.hooks.values()].find((h) => h.client_id === account(res).clientId && h.scope === scope && h.destination === destination);
      if (clash) return void res.status(422).json({ status: 422, title: 'A hook with this scope and destination already exists', type: '', errors: {} });
      const now = Math.floor(Date.now() / 1000);
      const hook = { id: s.nextHookId++, client_id: account(res).clientId, store_hash: s.hash, scope, destination, is_active, headers, created_at: now, updated_at: now };
      s.hooks.set(hook.id, hook);
      res.json({ data: hook, meta: {} });
    });
    const ownHook = (req: Request, res: Response) => {
      const hook = store(res).hooks.get(Number(req.params.id));
      return hook && hook.client_id === account(res).clientId ? hook : undefined;
    };
    app.get(`${base}/v3/hooks/:id`, (req, res) => {
      const hook = ownHook(req, res);
      if (!hook) return void v3Error(res, 404, 'Hook not found');
      res.json({ data: hook, meta: {} });
    });
    app.put(`${base}/v3/hooks/:id`, (req, res) => {
      const hook = ownHook(req, res);
      if (!hook) return void v3Error(res, 404, 'Hook not found');
      const { destination, is_active, headers } = req.body ?? {};
      if (typeof destination === 'string') hook.destination = destination;
      if (typeof is_active === 'boolean') hook.is_active = is_active;
      if (headers && typeof headers === 'object') hook.headers = headers;
      hook.updated_at = Math.floor(Date.now() / 1000);
      res.json({ data: hook, meta: {} });
    });
    app.delete(`${base}/v3/hooks/:id`, (req, res) => {
      const hook = ownHook(req, res);
      if (!hook) return void v3Error(res, 404, 'Hook not found');
      store(res).hooks.delete(hook.id);
      res.json({ data: hook, meta: {} });
    });
  }

  /** A small admin API for the demo and manual poking: /__sandbox/... */
  private adminRoutes(): express.Router {
    const r = express.Router();
    const wrap = (fn: (req: Request) => unknown) => (req: Request, res: Response) => {
      try {
        res.json(fn(req) ?? { ok: true });
      } catch (err) {
        res.status(400).json({ error: (err as Error).message });
      }
    };
    r.post('/stores', wrap((req) => {
      const store = this.createStore({ hash: req.body?.hash });
      return this.createAccount(store.hash, { without: req.body?.without });
    }));
    r.post('/stores/:hash/orders', wrap((req) => this.createOrder(String(req.params.hash), req.body)));
    r.put('/stores/:hash/orders/:id/status', wrap((req) => this.setOrderStatus(String(req.params.hash), Number(req.params.id), Number(req.body?.status_id))));
    r.post('/stores/:hash/orders/:id/refunds', wrap((req) => this.createRefund(String(req.params.hash), Number(req.params.id), Number(req.body?.amount))));
    r.get('/stores/:hash/hooks', wrap((req) => this.hooks(String(req.params.hash))));
    r.get('/stores/:hash/requests', wrap((req) => this.requests(String(req.params.hash))));
    r.get('/deliveries', wrap(() => this.delivery.log));
    r.post('/stores/:hash/coupons/:code/use', wrap((req) => this.useCoupon(String(req.params.hash), String(req.params.code))));
    return r;
  }
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  return new Sandbox(opts).start();
}
