import { Webhook } from 'standardwebhooks';
import { newHash, type SandboxHook, type SandboxStoreState } from './model';

/** BigCommerce's retry schedule after a failed delivery, in seconds (BIGCOMMERCE.md). */
export const BIGCOMMERCE_RETRY_SCHEDULE_S = [60, 180, 300, 600, 900, 1800, 3600, 7200, 21600, 50400, 86400];

export interface DeliveryRecord {
  hookId: number;
  scope: string;
  hash: string;
  attempt: number;
  status: number | 'network-error' | 'lost';
  at: number;
}

/**
 * Delivers callbacks like BigCommerce: POST the ids-only body with the hook's
 * headers and a Standard Webhooks signature keyed by base64(client secret);
 * only a 2xx counts; retries on the schedule (compressed by `timeScale`),
 * after the last the hook is deactivated. Duplicates carry the same hash.
 */
export class WebhookDelivery {
  readonly log: DeliveryRecord[] = [];
  /** Every callback is sent this many times (BigCommerce does send duplicates). */
  copies = 1;
  /** Best effort: while true, callbacks are lost in transit (never sent, never retried, the hook stays active). */
  losing = false;
  private pending = new Set<{ store: string; delivery: Promise<void> }>();
  private timers = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  constructor(
    /** Multiplies the retry schedule (a store's own `deliveryTimeScale` comes first); 0.00001 runs the 48 h schedule in about 2 s. */
    public timeScale: number,
    private readonly clientSecretOf: (store: SandboxStoreState, clientId: string) => string | undefined,
  ) {}

  fire(store: SandboxStoreState, scope: string, data: Record<string, unknown>): void {
    const hooks = [...store.hooks.values()].filter((h) => h.scope === scope && h.is_active);
    if (this.losing) {
      for (const hook of hooks) this.log.push({ hookId: hook.id, scope, hash: newHash(), attempt: 0, status: 'lost', at: Date.now() });
      return;
    }
    for (const hook of hooks) {
      const body = JSON.stringify({ scope, store_id: store.storeId, data, hash: newHash(), created_at: Math.floor(Date.now() / 1000), producer: `stores/${store.hash}` });
      for (let i = 0; i < this.copies; i++) this.track(store, this.attempt(store, hook, body, 0));
    }
  }

  /** Resolves when no delivery (of the store with this hash, if given) is in flight or waiting for a retry. */
  async idle(storeHash?: string): Promise<void> {
    for (;;) {
      const waiting = [...this.pending].filter((p) => storeHash === undefined || p.store === storeHash);
      if (waiting.length === 0) return;
      await Promise.allSettled(waiting.map((p) => p.delivery));
    }
  }

  close(): void {
    this.closed = true;
    for (const [t, resolve] of this.timers) {
      clearTimeout(t);
      resolve();
    }
    this.timers.clear();
  }

  private track(store: SandboxStoreState, delivery: Promise<void>): void {
    const p = { store: store.hash, delivery };
    this.pending.add(p);
    void delivery.finally(() => this.pending.delete(p));
  }

  private async attempt(store: SandboxStoreState, hook: SandboxHook, body: string, attempt: number): Promise<void> {
    if (this.closed || !store.hooks.has(hook.id) || !hook.is_active) return;
    const secret = this.clientSecretOf(store, hook.client_id);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...hook.headers };
    if (secret) {
      const id = `msg_${newHash().slice(0, 24)}`;
      const ts = new Date();
      headers['webhook-id'] = id;
      headers['webhook-timestamp'] = String(Math.floor(ts.getTime() / 1000));
      headers['webhook-signature'] = new Webhook(Buffer.from(secret).toString('base64')).sign(id, ts, body);
    }
    let status: number | 'network-error' = 'network-error';
    if (!store.receiverDown) {
      try {
        const res = await fetch(hook.destination, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = 'network-error';
      }
    }
    const { scope, hash } = JSON.parse(body) as { scope: string; hash: string };
    this.log.push({ hookId: hook.id, scope, hash, attempt, status, at: Date.now() });
    if (typeof status === 'number' && status >= 200 && status < 300) return;
    const delayS = BIGCOMMERCE_RETRY_SCHEDULE_S[attempt];
    if (delayS === undefined) {
      hook.is_active = false; // after the last retry BigCommerce deactivates the hook
      hook.updated_at = Math.floor(Date.now() / 1000);
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => (this.timers.delete(t), resolve()), delayS * 1000 * (store.deliveryTimeScale ?? this.timeScale));
      this.timers.set(t, resolve);
    });
    await this.attempt(store, hook, body, attempt + 1);
  }
}
