import { Types } from 'mongoose';
import { contactChain, contactFold, contactKey, countsInStats, type Ledger, orderTransactionId, refundTransactionId, statsChainOf, statsFold } from '../src/ledger/ledger';
import type { ContactDoc, PostingDoc, TransactionDoc } from '../src/ledger/models';
import { postingId } from '../src/ledger/postings';

export interface Seeded {
  merchantId: string;
  contacts: { id: string; email: string; balance: number; transactions: number }[];
  ordersCredited: number;
  refundsDeducted: number;
}

/**
 * Writes `contacts` × `perContact` transactions of one merchant in bulk, in the
 * very shape Ledger.record() leaves them (the same fold functions compute every
 * posting), because recording a million one by one would take the benchmark's
 * whole budget. Every tenth transaction of a contact is a refund of 5 points.
 * The bench checks the result against Ledger.record() before measuring.
 */
export async function seedMerchant(ledger: Ledger, merchantId: string, contacts: number, perContact: number, say: (line: string) => void): Promise<Seeded> {
  const { Contact, ContactKey, Transaction, Posting, Head } = ledger.models;
  const seeded: Seeded = { merchantId, contacts: [], ordersCredited: 0, refundsDeducted: 0 };
  const statsHeads = new Map<string, PostingDoc>();
  const start = Date.now() - contacts * perContact * 1000;
  let batch: { tx: TransactionDoc[]; postings: PostingDoc[] } = { tx: [], postings: [] };
  const inFlight = new Set<Promise<unknown>>();
  const flush = async () => {
    const { tx, postings } = batch;
    if (tx.length === 0) return;
    batch = { tx: [], postings: [] };
    const p = Promise.all([Transaction.collection.insertMany(tx as never[], { ordered: false }), Posting.collection.insertMany(postings as never[], { ordered: false })]);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 2) await Promise.race(inFlight);
  };
  let written = 0;
  let orderId = 1;
  for (let c = 0; c < contacts; c++) {
    const contact: ContactDoc = { _id: new Types.ObjectId(), merchantId, email: `c${c}@example.com`, bigcommerceCustomerId: c + 1, createdAt: new Date(start) };
    await Contact.collection.insertOne(contact as never);
    await ContactKey.collection.insertOne({ _id: contactKey(merchantId, contact.email), contactId: contact._id } as never);
    let previous: PostingDoc | null = null;
    for (let j = 1; j <= perContact; j++) {
      const isRefund = j % 10 === 0;
      const id = orderId++;
      const tx: TransactionDoc = {
        _id: isRefund ? refundTransactionId(merchantId, id) : orderTransactionId(merchantId, id),
        merchantId,
        contactId: contact._id,
        type: isRefund ? 'refund' : 'order',
        orderId: isRefund ? id - 1 : id,
        refundId: isRefund ? id : null,
        amount: isRefund ? '5.0000' : '25.0000',
        currency: 'USD',
        defaultAmount: isRefund ? '5.0000' : '25.0000',
        defaultCurrency: 'USD',
        exchangeRate: null,
        points: isRefund ? -5 : 25,
        createdAt: new Date(start + (c * perContact + j) * 1000),
      };
      const chain = contactChain(contact._id);
      const posting: PostingDoc = { ...contactFold(previous, tx), _id: postingId(chain, j), chain, seq: j, txId: tx._id, postedAt: tx.createdAt };
      previous = posting;
      batch.tx.push(tx);
      batch.postings.push(posting);
      if (countsInStats(tx)) {
        const statsChain = statsChainOf(merchantId, tx._id);
        const before = statsHeads.get(statsChain) ?? null;
        const seq = (before?.seq ?? 0) + 1;
        const counted: PostingDoc = { ...statsFold(before, tx), _id: postingId(statsChain, seq), chain: statsChain, seq, txId: tx._id, postedAt: tx.createdAt };
        statsHeads.set(statsChain, counted);
        batch.postings.push(counted);
      }
      if (isRefund) seeded.refundsDeducted++;
      else seeded.ordersCredited++;
      if (batch.tx.length >= 5_000) await flush();
      if (++written % 100_000 === 0) say(`  ${merchantId}: ${written} of ${contacts * perContact} transactions written`);
    }
    seeded.contacts.push({ id: contact._id.toHexString(), email: contact.email, balance: previous?.balance ?? 0, transactions: perContact });
    await Head.collection.insertOne({ _id: contactChain(contact._id), seq: perContact } as never);
  }
  await flush();
  await Promise.all(inFlight);
  for (const [chain, head] of statsHeads) await Head.collection.insertOne({ _id: chain, seq: head.seq } as never);
  return seeded;
}
