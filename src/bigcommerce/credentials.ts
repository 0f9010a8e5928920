import { z } from 'zod';

/**
 * Parses the text file BigCommerce downloads when an API account is created:
 * `LABEL: value` lines in any order (ACCESS TOKEN, CLIENT ID, CLIENT SECRET,
 * API PATH, CLIENT NAME, NAME); other lines are ignored.
 */
export function parseCredentialsFile(text: string): Partial<Record<'accessToken' | 'clientId' | 'clientSecret' | 'apiPath' | 'name', string>> {
  const labels: Record<string, 'accessToken' | 'clientId' | 'clientSecret' | 'apiPath' | 'name'> = {
    'ACCESS TOKEN': 'accessToken',
    'CLIENT ID': 'clientId',
    'CLIENT SECRET': 'clientSecret',
    'API PATH': 'apiPath',
    'CLIENT NAME': 'name',
    NAME: 'name',
  };
  const out: Partial<Record<'accessToken' | 'clientId' | 'clientSecret' | 'apiPath' | 'name', string>> = {};
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n|\r/)) {
    const m = /^\s*([A-Za-z][A-Za-z _]*?)\s*:\s*(.*?)\s*$/.exec(raw);
    if (!m) continue;
    const field = labels[m[1]!.toUpperCase().replace(/[_\s]+/g, ' ')];
    // CLIENT NAME wins over NAME when both are present.
    if (field && m[2] && !(field === 'name' && out.name && m[1]!.toUpperCase() === 'NAME')) out[field] = m[2];
  }
  return out;
}

/**
 * The store hash of an API PATH such as https://api.bigcommerce.com/stores/abc123/v3/.
 * The origin must be exactly `allowedOrigin`: the integration never sends a
 * merchant's token, or any request, anywhere else.
 */
export function parseApiPath(apiPath: string, allowedOrigin: string): { storeHash: string; apiBase: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(apiPath);
  } catch {
    return { error: 'is not a URL' };
  }
  const allowed = new URL(allowedOrigin);
  if (url.origin !== allowed.origin) return { error: `must be on ${allowed.origin}` };
  if (url.username || url.password || url.search || url.hash) return { error: 'must not carry credentials, a query or a fragment' };
  const m = /^\/stores\/([a-z0-9]{1,32})(\/v[23])?\/?$/i.exec(url.pathname);
  if (!m) return { error: 'must look like /stores/{store_hash}/v3/' };
  const storeHash = m[1]!.toLowerCase();
  return { storeHash, apiBase: `${allowed.origin}/stores/${storeHash}` };
}

export const StoreHash = z.string().regex(/^[a-z0-9]{1,32}$/);
