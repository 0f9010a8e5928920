import { z } from 'zod';

/** BigCommerce money: a decimal string with up to 4 decimals ("361.9500"). */
export const decimalString = z.string().regex(/^-?\d+(\.\d{1,4})?$/, 'not a 4-decimal amount');

/** v2 order: only the fields the integration reads are checked; the rest passes through. */
export const OrderSchema = z.looseObject({
  id: z.number().int().positive(),
  customer_id: z.number().int().nonnegative(),
  status_id: z.number().int().min(0),
  status: z.string().optional(),
  date_created: z.string(),
  date_modified: z.string().optional(),
  total_inc_tax: decimalString,
  currency_code: z.string().min(3).max(3),
  /** The transactional currency: the money fields are in it (BIGCOMMERCE.md, Orders). */
  default_currency_code: z.string().min(3).max(3).optional(),
  /** Multi-currency stores only: the store's default currency, and the default → transactional rate (10 decimals). */
  store_default_currency_code: z.string().min(3).max(3).nullish(),
  store_default_to_transactional_exchange_rate: z
    .union([z.string(), z.number().positive().transform((n) => String(n))])
    .pipe(z.string().regex(/^\d+(\.\d{1,10})?$/, 'not an exchange rate with at most 10 decimals'))
    .nullish(),
  is_deleted: z.boolean().optional(),
  billing_address: z.looseObject({ email: z.string().nullish() }),
});
export type Order = z.infer<typeof OrderSchema>;

export const RefundSchema = z.looseObject({
  id: z.number().int().positive(),
  order_id: z.number().int().positive(),
  created: z.string(),
  total_amount: z.number().nonnegative(),
});
export type Refund = z.infer<typeof RefundSchema>;

export const HookSchema = z.looseObject({
  id: z.number().int(),
  scope: z.string(),
  destination: z.string(),
  is_active: z.boolean(),
  headers: z.record(z.string(), z.string()).nullish(),
});
export type Hook = z.infer<typeof HookSchema>;

export const PromotionSchema = z.looseObject({ id: z.number().int(), name: z.string(), max_uses: z.number().nullish() });
export type Promotion = z.infer<typeof PromotionSchema>;

export const CouponCodeSchema = z.looseObject({ id: z.number().int(), code: z.string(), current_uses: z.number().int(), max_uses: z.number().int() });
export type CouponCode = z.infer<typeof CouponCodeSchema>;

export const v3One = <T extends z.ZodType>(data: T) => z.object({ data });
export const v3List = <T extends z.ZodType>(item: T) =>
  z.object({
    data: z.array(item),
    meta: z.looseObject({ pagination: z.looseObject({ total_pages: z.number().int(), current_page: z.number().int() }).optional() }).optional(),
  });
