import type { Model } from 'mongoose';
import { KeyedSerial } from '../keyed-serial';
import type { HeadDoc, PostingDoc } from './models';

const isDuplicateKey = (err: unknown) => (err as { code?: number }).code === 11000;

/** How long an append waits for the one before it on its chain in this process (see Chains). */
export const APPEND_WAIT_MS = 5_000;

/** What a chain's next posting carries, computed from the one before it (null for the first). */
export type Fold = (previous: PostingDoc | null) => Omit<PostingDoc, '_id' | 'chain' | 'seq' | 'txId' | 'postedAt'>;

export const postingId = (chain: string, seq: number) => `${chain}:${seq}`;

/**
 * Append-only chains of postings, numbered 1, 2, 3 … with no gap, each found by
 * its `_id` (`{chain}:{seq}`).
 *
 * Appending is optimistic: read the head, insert `{chain}:{head + 1}`. Inserts
 * keyed by `_id` are atomic on MongoDB and on FerretDB alike (FerretDB's updates
 * are not: a read-modify-write there can lose a concurrent one), so of two
 * writers racing for one seq exactly one wins and the other moves on to the next.
 * The unique (chain, txId) index makes a second posting of one transaction fail
 * at whatever seq it tries, which is how a retry learns that its transaction is
 * already there: the insert failed and the seq it tried is still free.
 *
 * The head is found from a hint (`heads`) and probed forward. The hint is updated
 * with `$max` after each append and may lag or, on a store without isolated
 * updates, even step back, but every value ever written is a seq that exists,
 * so it is always a lower bound and the probe finds the head from it. An append
 * does not probe: it reads the hinted posting and tries the seq after it, and
 * only an insert that meets a posting there walks on (the hint is nearly always
 * the head, and the probe would read the free seq that the insert takes).
 *
 * Within a process, appends to one chain wait for each other, and each starts
 * from the posting the one before it made: concurrent credits of one merchant
 * (its stats chains) or one contact then take one insert each, where racing
 * they took one round of reads and a failed insert per writer ahead of them
 * (quadratic in the writers). Processes still race each other as above. The
 * wait is bounded, so a store call that hangs holds its chain's next appends
 * for APPEND_WAIT_MS at most; past that they go ahead, racing.
 */
export class Chains {
  /** This process's appends, one chain at a time; each is handed the posting the one before it made. */
  private readonly serial: KeyedSerial<PostingDoc | null>;

  constructor(
    private readonly postings: Model<PostingDoc>,
    private readonly heads: Model<HeadDoc>,
    appendWaitMs = APPEND_WAIT_MS,
  ) {
    this.serial = new KeyedSerial(appendWaitMs);
  }

  /** The newest posting of a chain, or null for an empty one. */
  async head(chain: string): Promise<PostingDoc | null> {
    return this.probe(chain, await this.hintedSeq(chain), null);
  }

  /** Posts a transaction on a chain once; returns the posting, or null if it was already posted. */
  append(chain: string, txId: string, fold: Fold): Promise<PostingDoc | null> {
    return this.serial.run(chain, (previous) => this.race(chain, txId, fold, previous ?? null));
  }

  /**
   * The optimistic append, from the posting the append before it made if any, else from the
   * hinted one: both are lower bounds, and the insert itself finds out whether they are the head
   * (a chain has no gaps, so the seq after a lower bound is free only if that bound is the head).
   */
  private async race(chain: string, txId: string, fold: Fold, previous: PostingDoc | null): Promise<PostingDoc | null> {
    let head = previous ?? (await this.hinted(chain));
    for (;;) {
      const seq = (head?.seq ?? 0) + 1;
      const posting: PostingDoc = { ...fold(head), _id: postingId(chain, seq), chain, seq, txId, postedAt: new Date() };
      try {
        await this.postings.collection.insertOne(posting as never);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const taken = await this.postings.findById(posting._id).lean();
        if (!taken) return null; // the seq is free: the duplicate was (chain, txId)
        if (taken.txId === txId) return null;
        head = await this.probe(chain, seq, taken);
        continue;
      }
      await this.heads.updateOne({ _id: chain }, { $max: { seq } }, { upsert: true }).catch((err: unknown) => {
        // Two first upserts raced: the other one's seq is as good a hint.
        if (!isDuplicateKey(err)) throw err;
      });
      return posting;
    }
  }

  /** The posting the chain's head hint names (null for none): a lower bound of the head, in one read after the hint's. */
  private async hinted(chain: string): Promise<PostingDoc | null> {
    const seq = await this.hintedSeq(chain);
    if (seq === 0) return null;
    const at = await this.postings.findById(postingId(chain, seq)).lean();
    if (!at) throw hintWithoutPosting(chain, seq);
    return at;
  }

  /** The seq the chain's head hint names, 0 for none. */
  private async hintedSeq(chain: string): Promise<number> {
    return (await this.heads.findById(chain).lean())?.seq ?? 0;
  }

  /** Postings `from`, `from - 1` … down to `from - count + 1` (and not below 1), newest first, read in parallel. */
  async range(chain: string, from: number, count: number): Promise<PostingDoc[]> {
    const seqs: number[] = [];
    for (let s = from; s > 0 && seqs.length < count; s--) seqs.push(s);
    const rows = await mapLimit(seqs, 32, (s) => this.postings.findById(postingId(chain, s)).lean());
    return rows.filter((r): r is NonNullable<typeof r> => r !== null);
  }

  /** Walks from a known posting (seq `from`, or nothing at 0) to the chain's end. */
  private async probe(chain: string, from: number, known: PostingDoc | null): Promise<PostingDoc | null> {
    let head = known;
    let seq = from;
    if (!head && seq > 0) {
      // Read the hinted posting and the one after it together: usually the hint is the head.
      const [at, next] = await Promise.all([this.postings.findById(postingId(chain, seq)).lean(), this.postings.findById(postingId(chain, seq + 1)).lean()]);
      if (!at) throw hintWithoutPosting(chain, seq);
      if (!next) return at;
      head = next;
      seq += 1;
    }
    for (;;) {
      const next = await this.postings.findById(postingId(chain, seq + 1)).lean();
      if (!next) return head;
      head = next;
      seq += 1;
    }
  }
}

const hintWithoutPosting = (chain: string, seq: number) => new Error(`chain ${chain} has no posting ${seq} although its head hint says so`);

/** Runs `fn` over `items` with at most `limit` calls in flight; results in the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
