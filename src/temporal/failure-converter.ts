import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces travel as an encrypted payload, not as
 * clear text in the history (CONTRACT §5). Loaded by path, so that the
 * workflow bundle, the worker and the client all use it.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
