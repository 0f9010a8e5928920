import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export { BigCommerceOrderIdKey, MerchantIdKey, StoreHashKey } from './search-attribute-keys';

export const searchAttributes = {
  MerchantId: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  StoreHash: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  BigCommerceOrderId: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
} as const;

/** For `temporal server start-dev --search-attribute` and the test server. */
export const searchAttributeFlags = ['MerchantId=Keyword', 'StoreHash=Keyword', 'BigCommerceOrderId=Int'];

/**
 * Registers the search attributes that are missing; a no-op when all exist.
 * Needed on a persisted dev-server database, where `--search-attribute` flags
 * are not applied once the namespace exists.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.entries(searchAttributes).filter(([name]) => !have.has(name));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing) });
  } catch (err) {
    // Two processes racing to add the same attribute: the loser sees AlreadyExists.
    if (!/already exists/i.test(String((err as Error).message))) throw err;
  }
  return missing.map(([name]) => name);
}

/**
 * On a server this project did not start (a cluster, Temporal Cloud): which of
 * our search attributes are missing, and how to add them. Null when all exist,
 * or when the server does not let us look (then we cannot tell: the caller warns).
 */
export async function missingSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<{ missing: string[]; howToAdd: string } | null> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = searchAttributeFlags.filter((flag) => !have.has(flag.split('=')[0]!));
  if (missing.length === 0) return null;
  const commands = missing.map((flag) => {
    const [name, type] = flag.split('=');
    return `  temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}` + `   (Temporal Cloud: tcld namespace search-attributes add -n ${namespace} --sa "${name}=${type}")`;
  });
  return { missing: missing.map((f) => f.split('=')[0]!), howToAdd: commands.join('\n') };
}
