import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject } from 'zod-openapi';
import { ContactsQuery, TransactionsQuery } from './routes/contacts';
import { ImportBody, ImportIdParam } from './routes/imports';
import { InstallFields, InstallFile, MerchantIdParam } from './routes/merchants';
import { RedemptionBody, RewardSchema } from './routes/redemptions';
import { WebhookBody } from './routes/webhooks';

/**
 * The OpenAPI 3.1 description of CONTRACT §3 (`GET /openapi.json`), generated
 * by zod-openapi from the zod schemas that validate the requests (imported from
 * the routes) and from the response schemas below, which the tests check real
 * answers against.
 */
const isoDate = z.iso.datetime({ offset: true });

export const ErrorBody = z
  .object({ error: z.object({ code: z.string().meta({ example: 'validation_failed' }), message: z.string(), details: z.unknown().optional() }) })
  .meta({ id: 'Error' });

const WebhookRef = z.object({ scope: z.string(), id: z.number().int(), isActive: z.boolean() });

export const InstallAccepted = z
  .object({ merchantId: z.string(), storeHash: z.string(), status: z.literal('installing'), workflowId: z.string(), runId: z.string() })
  .meta({ id: 'InstallAccepted' });

export const MerchantState = z
  .object({
    merchantId: z.string(),
    storeHash: z.string(),
    status: z.enum(['installing', 'active', 'failed', 'uninstalled']),
    missingScopes: z.array(z.enum(['customers', 'marketing', 'orders', 'order_transactions', 'products', 'carts', 'checkouts'])),
    webhooks: z.array(WebhookRef),
    installedAt: isoDate.nullable().meta({ description: 'The first time the merchant became active; null until then' }),
    pointsPerCurrencyUnit: z.number(),
    stats: z.object({ ordersCredited: z.number().int(), refundsDeducted: z.number().int() }),
    lastError: z.string().nullable(),
    reconciliation: z.object({
      lastRunAt: isoDate.nullable(),
      ordersRecovered: z.number().int(),
      refundsRecovered: z.number().int(),
      webhooksRepaired: z.number().int(),
    }),
    workflowId: z.string(),
  })
  .meta({ id: 'MerchantState' });

export const UninstallAccepted = z.object({ merchantId: z.string(), workflowId: z.string(), uninstallRequested: z.literal(true) }).meta({ id: 'UninstallAccepted' });

export const ImportAccepted = z.object({ importId: z.string(), workflowId: z.string(), status: z.literal('running') }).meta({ id: 'ImportAccepted' });
export const ImportState = z
  .object({
    importId: z.string(),
    since: isoDate,
    status: z.enum(['running', 'completed', 'failed']),
    ordersSeen: z.number().int(),
    ordersCredited: z.number().int(),
    lastError: z.string().nullable(),
  })
  .meta({ id: 'ImportState' });

export const Contacts = z
  .object({
    contacts: z.array(z.object({ id: z.string(), email: z.string(), balance: z.number().int(), bigcommerceCustomerId: z.number().int().nullable(), createdAt: isoDate })),
  })
  .meta({ id: 'Contacts' });

const decimal = z.string().regex(/^-?\d+\.\d{1,4}$/);
export const Transactions = z
  .object({
    transactions: z.array(
      z.object({
        id: z.string(),
        type: z.enum(['order', 'refund', 'redemption', 'redemption_reversal']),
        orderId: z.number().int().nullable(),
        refundId: z.number().int().nullable(),
        redemptionId: z.string().nullable(),
        amount: decimal.nullable().meta({ description: 'As BigCommerce gave it, in the currency the shopper paid' }),
        currency: z.string(),
        defaultAmount: decimal.nullable().meta({ description: "The same amount in the store's default currency" }),
        defaultCurrency: z.string(),
        exchangeRate: z.string().nullable(),
        points: z.number().int(),
        createdAt: isoDate,
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'Transactions' });

export const RedemptionAccepted = z.object({ redemptionId: z.string(), workflowId: z.string(), status: z.literal('pending') }).meta({ id: 'RedemptionAccepted' });
export const RedemptionState = z
  .object({
    redemptionId: z.string(),
    contactId: z.string(),
    points: z.number().int(),
    reward: RewardSchema,
    status: z.enum(['pending', 'issued', 'failed', 'expired', 'used']),
    couponCode: z.string().nullable(),
    expiresAt: isoDate.nullable(),
    lastError: z.string().nullable(),
    createdAt: isoDate,
  })
  .meta({ id: 'RedemptionState' });

export const WebhookAnswer = z
  .union([z.object({ status: z.literal('accepted') }), z.object({ status: z.literal('ignored'), scope: z.string() })])
  .meta({ id: 'WebhookAnswer' });

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
const errors = (...codes: Array<[number, string]>) => Object.fromEntries(codes.map(([status, what]) => [String(status), json(ErrorBody, what)]));
const dashboard = { security: [{ dashboardKey: [] }] };
const merchantPath = z.object({ merchantId: MerchantIdParam });

function op(o: ZodOpenApiOperationObject): ZodOpenApiOperationObject {
  return o;
}

export function openApiDocument() {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'BigCommerce loyalty integration',
      version: '1.0.0',
      description: 'Connects a BigCommerce store to the loyalty platform: install, points from orders and refunds, imports, redemptions (CONTRACT §3).',
    },
    components: { securitySchemes: { dashboardKey: { type: 'http', scheme: 'bearer', description: 'DASHBOARD_API_KEY' } } },
    paths: {
      '/api/merchants/{merchantId}/bigcommerce': {
        put: op({
          summary: 'Install or re-install',
          ...dashboard,
          requestParams: { path: merchantPath },
          requestBody: { content: { 'application/json': { schema: z.union([InstallFields, InstallFile]) } } },
          responses: { '202': json(InstallAccepted, 'Saved; the merchant workflow verifies the scopes and registers webhooks'), ...errors([400, 'Bad body or API PATH'], [401, 'No dashboard key'], [409, 'store_mismatch']) },
        }),
        get: op({
          summary: 'State',
          ...dashboard,
          requestParams: { path: merchantPath },
          responses: { '200': json(MerchantState, 'The merchant'), ...errors([401, 'No dashboard key'], [404, 'Never installed']) },
        }),
        delete: op({
          summary: 'Uninstall',
          ...dashboard,
          requestParams: { path: merchantPath },
          responses: { '202': json(UninstallAccepted, 'Uninstall requested'), ...errors([401, 'No dashboard key'], [404, 'Never installed']) },
        }),
      },
      '/api/merchants/{merchantId}/bigcommerce/imports': {
        post: op({
          summary: 'Historical import',
          ...dashboard,
          requestParams: { path: merchantPath },
          requestBody: { content: { 'application/json': { schema: ImportBody } } },
          responses: { '202': json(ImportAccepted, 'Import started'), ...errors([400, 'Bad since'], [401, 'No dashboard key'], [404, 'Unknown merchant'], [409, 'merchant_not_active']) },
        }),
      },
      '/api/merchants/{merchantId}/bigcommerce/imports/{importId}': {
        get: op({
          summary: 'Import state',
          ...dashboard,
          requestParams: { path: merchantPath.extend({ importId: ImportIdParam }) },
          responses: { '200': json(ImportState, 'The import'), ...errors([401, 'No dashboard key'], [404, 'Unknown merchant or import']) },
        }),
      },
      '/api/merchants/{merchantId}/contacts': {
        get: op({
          summary: 'Contacts by email',
          ...dashboard,
          requestParams: { path: merchantPath, query: ContactsQuery },
          responses: { '200': json(Contacts, 'Contacts, email matched case-insensitively'), ...errors([400, 'No email'], [401, 'No dashboard key'], [404, 'Unknown merchant']) },
        }),
      },
      '/api/merchants/{merchantId}/contacts/{contactId}/transactions': {
        get: op({
          summary: 'Transactions of a contact, newest first',
          ...dashboard,
          requestParams: { path: merchantPath.extend({ contactId: z.string() }), query: TransactionsQuery },
          responses: { '200': json(Transactions, 'A page of transactions'), ...errors([400, 'Bad cursor'], [401, 'No dashboard key'], [404, 'Unknown merchant or contact']) },
        }),
      },
      '/api/merchants/{merchantId}/contacts/{contactId}/redemptions': {
        post: op({
          summary: 'Spend points on a BigCommerce coupon',
          ...dashboard,
          requestParams: { path: merchantPath.extend({ contactId: z.string() }) },
          requestBody: { content: { 'application/json': { schema: RedemptionBody } } },
          responses: {
            '202': json(RedemptionAccepted, 'The points are taken; the coupon is being created'),
            ...errors([400, 'Bad body'], [401, 'No dashboard key'], [404, 'Unknown merchant or contact'], [409, 'insufficient_points, redemption_conflict or merchant_not_active'], [503, 'Not decided in time: retry']),
          },
        }),
      },
      '/api/merchants/{merchantId}/redemptions/{redemptionId}': {
        get: op({
          summary: 'Redemption state',
          ...dashboard,
          requestParams: { path: merchantPath.extend({ redemptionId: z.string() }) },
          responses: { '200': json(RedemptionState, 'The redemption'), ...errors([401, 'No dashboard key'], [404, 'Unknown merchant or redemption']) },
        }),
      },
      '/webhooks/bigcommerce/{merchantId}': {
        post: op({
          summary: 'BigCommerce callbacks',
          description: 'Authenticated by the secret header registered with each hook (X-Loyalty-Webhook-Secret) and, with a client secret, Standard Webhooks signatures.',
          requestParams: { path: merchantPath },
          requestBody: { content: { 'application/json': { schema: WebhookBody } } },
          responses: {
            '200': json(WebhookAnswer, 'Durably handed to Temporal, or ignored'),
            ...errors([400, 'Malformed'], [401, 'Bad authentication'], [404, 'Unknown merchant'], [413, 'Larger than 64 KiB'], [415, 'A compressed body (Content-Encoding other than identity)'], [503, 'Not recorded: BigCommerce retries']),
          },
        }),
      },
      '/healthz': { get: op({ summary: 'Alive', responses: { '200': json(z.object({ status: z.literal('ok') }), 'Alive') } }) },
      '/readyz': {
        get: op({
          summary: 'Temporal and the store reachable',
          responses: { '200': json(z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.string()) }), 'Ready'), ...errors([503, 'Names what is not reachable']) },
        }),
      },
    },
  });
}
