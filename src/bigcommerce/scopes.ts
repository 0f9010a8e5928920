/**
 * The API scopes the integration needs, in the contract's words, and how to
 * tell whether a token has each. No endpoint lists a token's scopes, so each
 * is probed: 403 means missing; 2xx, 400, 404 or 422 mean present.
 */
export const REQUIRED_SCOPES = ['customers', 'marketing', 'orders', 'order_transactions', 'products', 'carts', 'checkouts'] as const;
export type Scope = (typeof REQUIRED_SCOPES)[number];

export interface Probe {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
}

const NO_SUCH_ID = '00000000-0000-0000-0000-000000000000';

export const SCOPE_PROBES: Record<Scope, Probe> = {
  customers: { method: 'GET', path: '/v3/customers?limit=1' },
  // "Marketing: modify" is needed (later work creates coupons): an empty create is a 422 with the scope, 403 without.
  marketing: { method: 'POST', path: '/v3/promotions', body: {} },
  orders: { method: 'GET', path: '/v2/orders?limit=1' },
  // Refund endpoints accept the orders scope too, so they prove nothing: probe transactions themselves.
  order_transactions: { method: 'GET', path: '/v3/orders/0/transactions' },
  products: { method: 'GET', path: '/v3/catalog/products?limit=1' },
  carts: { method: 'GET', path: `/v3/carts/${NO_SUCH_ID}` },
  checkouts: { method: 'GET', path: `/v3/checkouts/${NO_SUCH_ID}` },
};

/** What a probe's status says; 401, 429 and 5xx are not answers and are raised by the client instead. */
export function scopePresent(status: number): boolean {
  if (status === 403) return false;
  if ((status >= 200 && status < 300) || status === 400 || status === 404 || status === 422) return true;
  throw new Error(`unexpected probe status ${status}`);
}

/** The webhooks the integration registers: orders to credit, refunds to deduct, and status changes to wake incomplete orders. */
export const WEBHOOK_SCOPES = ['store/order/created', 'store/order/refund/created', 'store/order/statusUpdated'] as const;
export type WebhookScope = (typeof WEBHOOK_SCOPES)[number];
