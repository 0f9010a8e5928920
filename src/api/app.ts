import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
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
import { bigCommerceWebhooks } from './routes/webhooks';
import { logAnswer } from './request-log';
import { WebhookAuthCache } from './webhook-auth';

export interface ApiDeps {
  config: Config;
  client: Client;
  store: Store;
  logger: Logger;
}

/**
 * The API's request listener: BigCommerce's callbacks are answered by their
 * own lean handler (src/api/routes/webhooks.ts says why), everything else,
 * the callback path's other methods included, by the Express app.
 */
export function createRequestListener(deps: ApiDeps): RequestListener {
  const webhookAuth = new WebhookAuthCache(deps.store);
  const webhooks = bigCommerceWebhooks({ ...deps, webhookAuth });
  const app = createApp({ ...deps, webhookAuth });
  return (req: IncomingMessage, res: ServerResponse) => {
    if (!webhooks(req, res)) app(req, res);
  };
}

function createApp(deps: ApiDeps & { webhookAuth: WebhookAuthCache }): express.Express {
  const { config, logger, webhookAuth } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => logAnswer(logger, req.method, req.path, res.statusCode, started));
    next();
  });
  app.use(healthRouter(deps));
  app.use(docsRouter());
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
