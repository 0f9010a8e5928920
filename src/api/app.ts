import type { Client } from '@temporalio/client';
import express from 'express';
import { type Config, keyring } from '../config';
import type { Logger } from '../logger';
import type { Store } from '../store';
import { requireDashboardKey } from './auth';
import { errorHandler, HttpError } from './errors';
import { codecRouter } from './routes/codec';
import { contactsRouter } from './routes/contacts';
import { docsRouter } from './routes/docs';
import { healthRouter } from './routes/health';
import { importsRouter } from './routes/imports';
import { redemptionsRouter } from './routes/redemptions';
import { merchantsRouter } from './routes/merchants';
import { webhooksRouter } from './routes/webhooks';
import { WebhookAuthCache } from './webhook-auth';

export interface ApiDeps {
  config: Config;
  client: Client;
  store: Store;
  logger: Logger;
}

export function createApp(deps: ApiDeps): express.Express {
  const { config, logger } = deps;
  const app = express();
  const webhookAuth = new WebhookAuthCache(deps.store);
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'http');
    });
    next();
  });
  app.use(healthRouter(deps));
  app.use(docsRouter());
  // Webhooks parse their own raw body (signatures are over the exact bytes).
  app.use(webhooksRouter({ ...deps, webhookAuth }));
  app.use(
    codecRouter({
      keys: keyring(config),
      uiOrigins: config.CODEC_ALLOWED_ORIGINS,
      // Open to the dev UI outside production; in production, never to an anonymous caller.
      bearerKey: config.NODE_ENV === 'production' ? (config.CODEC_API_KEY ?? null) : undefined,
    }),
  );
  app.use('/api', requireDashboardKey(config.DASHBOARD_API_KEY));
  app.use('/api', express.json({ limit: '100kb' }));
  app.use(merchantsRouter({ ...deps, webhookAuth }));
  app.use(contactsRouter(deps));
  app.use(importsRouter(deps));
  app.use(redemptionsRouter(deps));
  app.use((req, _res, next) => next(new HttpError(404, 'not_found', `no route ${req.method} ${req.path}`)));
  app.use(errorHandler(logger));
  return app;
}
