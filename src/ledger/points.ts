/**
 * The points arithmetic of CONTRACT §4, in integers only. Amounts are scaled
 * to ten-thousandths (BigCommerce's 4 decimals) as bigint; no floating point
 * touches a point. Pure: imported by workflows as well as activities.
 */
export const SCALE = 10_000n;

/** "123.4500" → 1234500n. Rejects anything that is not a plain decimal with at most 4 places. */
export function parseAmount(s: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,4}))?$/.exec(s.trim());
  if (!m) throw new RangeError(`not a decimal amount with at most 4 places: ${JSON.stringify(s)}`);
  const value = BigInt(m[2]!) * SCALE + BigInt((m[3] ?? '').padEnd(4, '0'));
  return m[1] ? -value : value;
}

/** 1234500n → "123.4500" */
export function formatAmount(v: bigint): string {
  const neg = v < 0n;
  const abs = neg ? -v : v;
  return `${neg ? '-' : ''}${abs / SCALE}.${(abs % SCALE).toString().padStart(4, '0')}`;
}

/**
 * A JSON number as BigCommerce sends v3 refund amounts (61.72) → ten-thousandths,
 * rounded half up at the 4th decimal. Goes through the number's shortest
 * decimal spelling, never through binary arithmetic.
 */
export function amountFromNumber(n: number): bigint {
  if (!Number.isFinite(n)) throw new RangeError(`not a finite amount: ${n}`);
  const text = Math.abs(n) < 1e21 && !/e/i.test(String(n)) ? String(n) : n.toFixed(10);
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new RangeError(`not a decimal amount: ${text}`);
  const frac = (m[3] ?? '').padEnd(5, '0');
  let value = BigInt(m[2]!) * SCALE + BigInt(frac.slice(0, 4));
  if (Number(frac[4]) >= 5) value += 1n;
  return m[1] ? -value : value;
}

/** BigCommerce's exchange rates have 10 decimals ("150.0000000000"). */
export const RATE_SCALE = 10_000_000_000n;

/** "0.9200000000" → 9200000000n (ten-billionths). Rejects anything but a positive decimal with at most 10 places. */
export function parseExchangeRate(s: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,10}))?$/.exec(s.trim());
  if (!m) throw new RangeError(`not an exchange rate with at most 10 decimals: ${JSON.stringify(s)}`);
  const value = BigInt(m[1]!) * RATE_SCALE + BigInt((m[2] ?? '').padEnd(10, '0'));
  if (value <= 0n) throw new RangeError(`exchange rate must be positive: ${JSON.stringify(s)}`);
  return value;
}

/**
 * An order total in the store's default currency (rule 1): the transactional
 * total divided by `store_default_to_transactional_exchange_rate`, kept as an
 * exact fraction of ten-thousandths (`num / den`); no exchange rate means the
 * order is already in the default currency.
 */
export interface DefaultTotal {
  num: bigint;
  den: bigint;
}

export function defaultCurrencyTotal(totalIncTax: string, exchangeRate?: string | null): DefaultTotal {
  const total = parseAmount(totalIncTax);
  if (!exchangeRate) return { num: total, den: 1n };
  return { num: total * RATE_SCALE, den: parseExchangeRate(exchangeRate) };
}

/** The converted amount as a 4-decimal string, rounded half up (for the ledger's record; points use the exact fraction). */
export function formatDefaultTotal({ num, den }: DefaultTotal): string {
  const neg = num < 0n;
  const abs = neg ? -num : num;
  return formatAmount((neg ? -1n : 1n) * ((2n * abs + den) / (2n * den)));
}

/**
 * Points for an order: floor(total_inc_tax ÷ exchange rate × points rate);
 * amounts and the points rate are 4-decimal strings, the exchange rate a
 * 10-decimal one. Exact: one integer division at the end.
 */
export function orderPoints(totalIncTax: string, pointsPerCurrencyUnit: string, exchangeRate?: string | null): number {
  const { num, den } = defaultCurrencyTotal(totalIncTax, exchangeRate);
  const rate = parseAmount(pointsPerCurrencyUnit);
  if (num <= 0n || rate <= 0n) return 0;
  return Number((num * rate) / (den * SCALE * SCALE));
}

/**
 * Points deducted in all after refunds summing to `refunded`, for an order that
 * credited `earned` points out of `total`: round_half_up(E × min(1, S / T)).
 */
export function deductedAfter(earned: number, total: bigint, refunded: bigint): number {
  if (earned <= 0 || total <= 0n || refunded <= 0n) return 0;
  if (refunded >= total) return earned;
  const e = BigInt(earned);
  return Number((2n * e * refunded + total) / (2n * total));
}

/**
 * What one refund deducts: the figure after it minus the figure before it,
 * counting the order's refunds in id order up to and including `refundId`.
 * Depends only on the refunds up to it, so concurrent refunds of one order
 * cannot race. Returns a negative number of points (or 0).
 */
export function refundPoints(
  earned: number,
  totalIncTax: string,
  refunds: ReadonlyArray<{ id: number; amount: string }>,
  refundId: number,
): number {
  const total = parseAmount(totalIncTax);
  const sorted = [...refunds].sort((a, b) => a.id - b.id);
  let before = 0n;
  for (const r of sorted) {
    if (r.id === refundId) {
      const after = before + parseAmount(r.amount);
      return -(deductedAfter(earned, total, after) - deductedAfter(earned, total, before));
    }
    before += parseAmount(r.amount);
  }
  throw new RangeError(`refund ${refundId} is not among the order's refunds`);
}

/** The rate as the 4-decimal string the ledger stores (1 → "1.0000", 2.5 → "2.5000"). */
export function normalizeRate(rate: number): string {
  return formatAmount(amountFromNumber(rate));
}
