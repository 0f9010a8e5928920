import { Context } from '@temporalio/activity';
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

/**
 * The logger of the activity being run: every line carries the workflow id,
 * run id and activity type (as the SDK's activity context knows them), so a
 * log line leads to its history in the Temporal UI. Outside an activity, the
 * plain logger.
 */
export function activityLogger(): Logger {
  try {
    const { workflowExecution, activityType, attempt } = Context.current().info;
    return logger.child({ workflowId: workflowExecution?.workflowId, runId: workflowExecution?.runId, activityType, attempt });
  } catch {
    return logger;
  }
}
