import { randomBytes, randomUUID } from 'node:crypto';
import type { Scope } from '../bigcommerce/scopes';
import { formatAmount, parseAmount } from '../ledger/points';

/** BigCommerce's OAuth scope names for the contract's words (BIGCOMMERCE.md). */
export const OAUTH_SCOPE: Record<Scope, string> = {
  customers: 'store_v2_customers',
  marketing: 'store_v2_marketing',
  orders: 'store_v2_orders',
  order_transactions: 'store_v2_transactions',
  products: 'store_v2_products',
  carts: 'store_cart',
  checkouts: 'store_checkout',
};
export const ALL_SCOPES = Object.values(OAUTH_SCOPE);

export const STATUS_NAMES: Record<number, string> = {
  0: 'Incomplete',
  1: 'Pending',
  2: 'Shipped',
  3: 'Partially Shipped',
  4: 'Refunded',
  5: 'Cancelled',
  6: 'Declined',
  7: 'Awaiting Payment',
  8: 'Awaiting Pickup',
  9: 'Awaiting Shipment',
  10: 'Completed',
  11: 'Awaiting Fulfillment',
  12: 'Manual Verification Required',
  13: 'Disputed',
  14: 'Partially Refunded',
};

export interface ApiAccount {
  clientId: string;
  clientSecret: string;
  accessToken: string;
  /** OAuth scope names: `store_v2_orders` (modify) or `store_v2_orders_read_only`. */
  scopes: Set<string>;
  revoked: boolean;
}

export interface SandboxOrder {
  id: number;
  customer_id: number;
  date_created: string;
  date_modified: string;
  status_id: number;
  status: string;
  subtotal_ex_tax: string;
  subtotal_inc_tax: string;
  shipping_cost_inc_tax: string;
  total_ex_tax: string;
  total_inc_tax: string;
  refunded_amount: string;
  currency_code: string;
  default_currency_code: string;
  currency_exchange_rate: string;
  /** Multi-currency stores only (BIGCOMMERCE.md, Orders). */
  store_default_currency_code?: string;
  store_default_to_transactional_exchange_rate?: string;
  is_deleted: boolean;
  billing_address: { first_name: string; last_name: string; email: string; country_iso2: string };
}

export interface SandboxRefund {
  id: number;
  order_id: number;
  user_id: number;
  created: string;
  reason: string;
  total_amount: number;
  total_tax: number;
  uses_merchant_override_values: boolean;
  items: Array<{ item_type: string; item_id: number; quantity: number; requested_amount: number }>;
  payments: Array<{ id: number; provider_id: string; amount: number; offline: boolean; is_declined: boolean; declined_message: string }>;
}

export interface SandboxHook {
  id: number;
  client_id: string;
  store_hash: string;
  scope: string;
  destination: string;
  is_active: boolean;
  headers: Record<string, string>;
  created_at: number;
  updated_at: number;
}

/** A v3 promotion (promotions.v3.yml), with its coupon codes. */
export interface SandboxPromotion {
  id: number;
  name: string;
  redemption_type: 'COUPON' | 'AUTOMATIC';
  coupon_type: 'SINGLE' | 'BULK';
  rules: unknown[];
  max_uses: number | null;
  current_uses: number;
  end_date: string | null;
  status: string;
  currency_code: string;
  can_be_used_with_other_promotions: boolean;
  created_at: string;
  codes: SandboxCouponCode[];
}

export interface SandboxCouponCode {
  id: number;
  code: string;
  current_uses: number;
  max_uses: number;
  max_uses_per_customer: number;
  created: string;
}

export type Fault =
  | { kind: '429'; resetMs: number; retryAfterS?: number }
  | { kind: '429-bare' }
  | { kind: '500' }
  /** The request is served, but its answer is held back: the client gives up, the work is done (a lost response). */
  | { kind: 'slow-response'; ms: number; method: string; path: string };

export interface RequestRecord {
  at: number;
  method: string;
  path: string;
  status: number;
  /** For a 429: when the client may send again (ms epoch). */
  retryAt?: number;
  /** For a request counted against the quota: the start of its rate-limit window (ms epoch). */
  windowStart?: number;
}

export interface SandboxStoreState {
  hash: string;
  storeId: string;
  accounts: Map<string, ApiAccount>;
  orders: Map<number, SandboxOrder>;
  refunds: SandboxRefund[];
  hooks: Map<number, SandboxHook>;
  promotions: Map<number, SandboxPromotion>;
  nextPromotionId: number;
  nextOrderId: number;
  nextRefundId: number;
  nextHookId: number;
  rate: { quota: number; windowMs: number; windowStart: number; used: number };
  faults: Fault[];
  latencyMs: number;
  requests: RequestRecord[];
  /** This store's own scale of BigCommerce's retry schedule, in place of the sandbox's (a test of one store's outage). */
  deliveryTimeScale?: number;
  /**
   * Our webhook endpoint is down for this store's callbacks: every delivery attempt fails as a
   * network error, whatever the hook's destination (an outage of our API, while our worker and
   * BigCommerce's API go on).
   */
  receiverDown?: boolean;
}

/** RFC 2822 in UTC as BigCommerce writes it: "Wed, 10 Jan 2018 21:05:30 +0000". */
export function rfc2822(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

export function newStore(hash = randomBytes(5).toString('hex').slice(0, 10), rate = { quota: 150, windowMs: 30_000 }): SandboxStoreState {
  return {
    hash,
    storeId: String(1_000_000 + Math.floor(Math.random() * 8_999_999)),
    accounts: new Map(),
    orders: new Map(),
    refunds: [],
    hooks: new Map(),
    promotions: new Map(),
    nextPromotionId: 1,
    nextOrderId: 100,
    nextRefundId: 1,
    nextHookId: 1,
    rate: { ...rate, windowStart: Date.now(), used: 0 },
    faults: [],
    latencyMs: 0,
    requests: [],
  };
}

export function newAccount(scopes: Iterable<string> = ALL_SCOPES): ApiAccount {
  return {
    clientId: randomBytes(15).toString('hex').slice(0, 30),
    clientSecret: randomBytes(32).toString('hex').slice(0, 40),
    accessToken: randomBytes(16).toString('hex').slice(0, 31),
    scopes: new Set(scopes),
    revoked: false,
  };
}

export interface NewOrder {
  totalIncTax: string;
  email: string;
  customerId?: number;
  statusId?: number;
  /** The currency the shopper paid in (default USD). */
  currency?: string;
  /**
   * A multi-currency store: its default currency, and the default → transactional
   * rate (10 decimals; 150 for JPY in a USD store). Orders then carry
   * `store_default_currency_code` and `store_default_to_transactional_exchange_rate`.
   */
  storeDefaultCurrency?: string;
  exchangeRate?: string;
  dateCreated?: Date;
}

export function makeOrder(id: number, o: NewOrder): SandboxOrder {
  const total = parseAmount(o.totalIncTax);
  const shipping = total / 10n;
  const exTax = (total * 10n) / 11n;
  const created = rfc2822(o.dateCreated ?? new Date());
  const statusId = o.statusId ?? 11;
  return {
    id,
    customer_id: o.customerId ?? 0,
    date_created: created,
    date_modified: created,
    status_id: statusId,
    status: STATUS_NAMES[statusId] ?? 'Unknown',
    subtotal_ex_tax: formatAmount(exTax - shipping),
    subtotal_inc_tax: formatAmount(total - shipping),
    shipping_cost_inc_tax: formatAmount(shipping),
    total_ex_tax: formatAmount(exTax),
    total_inc_tax: formatAmount(total),
    refunded_amount: '0.0000',
    currency_code: o.currency ?? 'USD',
    default_currency_code: o.currency ?? 'USD',
    currency_exchange_rate: '1.0000000000',
    ...(o.storeDefaultCurrency
      ? { store_default_currency_code: o.storeDefaultCurrency, store_default_to_transactional_exchange_rate: o.exchangeRate ?? '1.0000000000' }
      : {}),
    is_deleted: false,
    billing_address: { first_name: 'Sandbox', last_name: 'Shopper', email: o.email, country_iso2: 'US' },
  };
}

export function makeRefund(id: number, orderId: number, amount: number): SandboxRefund {
  return {
    id,
    order_id: orderId,
    user_id: 0,
    created: new Date().toISOString(),
    reason: 'sandbox refund',
    total_amount: amount,
    total_tax: 0,
    uses_merchant_override_values: false,
    items: [{ item_type: 'ORDER', item_id: orderId, quantity: 1, requested_amount: amount }],
    payments: [{ id: id * 10, provider_id: 'testgateway', amount, offline: false, is_declined: false, declined_message: '' }],
  };
}

export const newHash = () => randomUUID().replace(/-/g, '').slice(0, 40);
