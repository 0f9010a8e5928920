import pino from 'pino';

/** One structured logger; JSON lines, with secrets redacted wherever they might be logged. */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  base: { service: 'bigcommerce-loyalty' },
  redact: {
    paths: [
      'accessToken',
      'clientSecret',
      'webhookSecret',
      '*.accessToken',
      '*.clientSecret',
      '*.webhookSecret',
      'headers["x-auth-token"]',
      'req.headers.authorization',
      'credentialsFile',
      '*.credentialsFile',
    ],
    censor: '[redacted]',
  },
});

export type Logger = typeof logger;
