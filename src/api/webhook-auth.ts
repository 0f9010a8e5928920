import { LRUCache } from 'lru-cache';
import type { Store } from '../store';

/** What authenticates a merchant's callbacks, and the store they must come from. */
export interface WebhookAuth {
  webhookSecret: string;
  clientSecret: string | null;
  storeHash: string;
}

/**
 * The webhook route's view of installed merchants, read through a short-lived
 * cache: every callback used to read (and unseal) its merchant's record, which
 * under load was the largest part of the answer's latency after the signal.
 *
 * Only installed merchants are cached (an unknown or uninstalled one is read
 * again each time), concurrent misses of one merchant share one read, and the
 * cache is never the last word against a caller: a secret or signature that
 * does not verify against the cached record is checked again against a fresh
 * read (`fresh`) before it is refused, and a merchant whose workflow is gone
 * is read afresh to tell an uninstall (404) from an outage (503). So a
 * re-install with a new client secret is honoured at once, and what the cache
 * can hold back is at most `ttlMs` of a new install's first client secret.
 */
export class WebhookAuthCache {
  private readonly cache: LRUCache<string, WebhookAuth>;

  constructor(store: Store, opts: { ttlMs?: number; max?: number } = {}) {
    this.cache = new LRUCache<string, WebhookAuth>({
      max: opts.max ?? 10_000,
      ttl: opts.ttlMs ?? 10_000,
      fetchMethod: async (merchantId) => {
        const merchant = await store.merchants.secrets(merchantId);
        if (!merchant || merchant.state.status === 'uninstalled') return undefined;
        return { webhookSecret: merchant.webhookSecret, clientSecret: merchant.clientSecret, storeHash: merchant.state.storeHash };
      },
    });
  }

  /** The installed merchant's auth, at most `ttlMs` old (or read now with `fresh`); null if not installed. */
  async get(merchantId: string, fresh = false): Promise<WebhookAuth | null> {
    return (await this.cache.fetch(merchantId, { forceRefresh: fresh })) ?? null;
  }

  /** Drops what is cached of a merchant (its install changed in this process). */
  forget(merchantId: string): void {
    this.cache.delete(merchantId);
  }
}
