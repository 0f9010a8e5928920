import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { resolveTestServer } from '../../src/dev/binaries';
import { waitFor } from '../../src/dev/cli';
import { logger } from '../../src/logger';
import { installRuntime } from '../../src/temporal/runtime';

/**
 * The runtime our processes install (src/temporal/runtime.ts) sends the native
 * core's warnings to our structured logger, so that they come out as JSON lines
 * with the rest, not straight to the console. A warning the core is sure to
 * write: an activity worker on Temporal's time-skipping test server, which does
 * not advertise the capability that keeps heartbeat details of failed attempts.
 */
test("the native core's warnings reach the structured logger", async () => {
  const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  installRuntime();
  const path = await resolveTestServer((line) => process.stderr.write(`[test server] ${line}\n`));
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  try {
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: 'sdk-logs', activities: { noop: async () => undefined } });
    const fromCore = () => warn.mock.calls.find(([fields]) => (fields as { sdkComponent?: string }).sdkComponent === 'core');
    const call = await worker.runUntil(waitFor(async () => fromCore(), 20_000, "a warning of the native core"));
    expect(call[0]).toMatchObject({ sdk: true, sdkComponent: 'core', target: expect.stringMatching(/^temporalio_sdk_core/) });
    expect(call[1]).toMatch(/activity_failure_include_heartbeat/);
  } finally {
    await env.teardown();
    warn.mockRestore();
  }
}, 300_000);
