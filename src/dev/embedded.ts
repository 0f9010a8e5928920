import path from 'node:path';
import { isPortFree, type ManagedServer, startStore, startTemporal } from './servers';

export const TEMPORAL_PORT = 7233;
export const TEMPORAL_UI_PORT = 8233;
export const STORE_PORT = 27017;

export interface Embedded {
  temporalAddress: string;
  mongoUri: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

/**
 * The embedded servers of CONTRACT §1, each unless the environment already
 * names one: Temporal dev server with its UI on 7233/8233, the store on 27017,
 * data under DATA_DIR so it survives restarts.
 */
export async function startEmbedded(opts: { dataDir: string; namespace: string; codecEndpoint?: string; say: (l: string) => void }): Promise<Embedded> {
  const servers: ManagedServer[] = [];
  const stop = async () => void (await Promise.allSettled(servers.map((s) => s.stop())));
  try {
    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    let uiUrl: string | undefined;
    let mongoUri = process.env.MONGODB_URI;
    const starts: Promise<void>[] = [];
    if (!temporalAddress) {
      await ensureFree(TEMPORAL_PORT, 'Temporal', 'TEMPORAL_ADDRESS');
      await ensureFree(TEMPORAL_UI_PORT, 'the Temporal UI', 'TEMPORAL_ADDRESS');
      starts.push(
        startTemporal({
          port: TEMPORAL_PORT,
          uiPort: TEMPORAL_UI_PORT,
          namespace: opts.namespace,
          dbFile: path.resolve(opts.dataDir, 'temporal.db'),
          codecEndpoint: opts.codecEndpoint,
          log: opts.say,
        }).then((t) => {
          servers.push(t);
          temporalAddress = t.address;
          uiUrl = t.uiUrl;
        }),
      );
    }
    if (!mongoUri) {
      await ensureFree(STORE_PORT, 'the store', 'MONGODB_URI');
      starts.push(
        startStore({ port: STORE_PORT, dataDir: path.resolve(opts.dataDir, 'store'), log: opts.say }).then((s) => {
          servers.push(s);
          mongoUri = s.uri;
        }),
      );
    }
    const results = await Promise.allSettled(starts);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { temporalAddress: temporalAddress!, mongoUri: mongoUri!, uiUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function ensureFree(port: number, what: string, variable: string): Promise<void> {
  if (!(await isPortFree(port))) {
    throw new Error(`port ${port} (${what}) is already in use: is another \`npm start\` running? Stop it, or set ${variable} to use what is there.`);
  }
}
