import { Router } from 'express';
import { z } from 'zod';
import { BadCursorError } from '../../ledger/ledger';
import type { Store } from '../../store';
import { HttpError, notFound, validationError } from '../errors';
import { installedMerchant } from './merchants';

export const ContactsQuery = z.object({ email: z.string().trim().min(3, 'is required').max(320) });
export const TransactionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

export function contactsRouter({ store }: { store: Store }): Router {
  const router = Router();

  const merchantIdOf = async (raw: string | undefined) => (await installedMerchant(store, raw)).merchantId;

  router.get('/api/merchants/:merchantId/contacts', async (req, res) => {
    const merchantId = await merchantIdOf(req.params.merchantId);
    const q = ContactsQuery.safeParse(req.query);
    if (!q.success) throw validationError(q.error, 'the email query parameter is required');
    res.json({ contacts: await store.ledger.contactsByEmail(merchantId, q.data.email) });
  });

  router.get('/api/merchants/:merchantId/contacts/:contactId/transactions', async (req, res) => {
    const merchantId = await merchantIdOf(req.params.merchantId);
    const q = TransactionsQuery.safeParse(req.query);
    if (!q.success) throw validationError(q.error);
    const contact = await store.ledger.contactDoc(merchantId, req.params.contactId);
    if (!contact) throw notFound(`no contact ${req.params.contactId} for merchant ${merchantId}`);
    try {
      res.json(await store.ledger.transactions(merchantId, contact._id.toHexString(), q.data.limit, q.data.cursor));
    } catch (err) {
      if (err instanceof BadCursorError) throw new HttpError(400, 'bad_cursor', err.message);
      throw err;
    }
  });

  return router;
}
