import path from 'node:path';
import express, { Router } from 'express';
import { openApiDocument } from '../openapi';

/**
 * Swagger UI's files, found through the package's manifest: the package's own
 * entry point (`getAbsoluteFSPath`) loads its 2 MB browser bundles into Node to
 * answer the same question (about 280 ms at every start of the API).
 */
const SWAGGER_UI_ASSETS = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** `GET /openapi.json` (generated once from the zod schemas) and `GET /docs` (Swagger UI, served from the package: no CDN). */
export function docsRouter(): Router {
  const router = Router();
  const document = openApiDocument();
  router.get('/openapi.json', (_req, res) => void res.json(document));
  router.use('/docs/assets', express.static(SWAGGER_UI_ASSETS, { index: false }));
  router.get('/docs', (_req, res) => {
    res.type('html').send(`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>BigCommerce loyalty integration: API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true });</script>
</body>
</html>`);
  });
  return router;
}
