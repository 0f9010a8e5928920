import { sdkLogLevel } from '../../src/temporal/runtime';

describe('the level of an SDK log line', () => {
  const slowTask = '[TMPRL1104] 01a2-run:4:1 Workflow task duration exceeded 5 seconds.';

  test('errors and warnings keep their level; workflow INFO lines are kept, the SDK\'s own INFO chatter is dropped', () => {
    expect(sdkLogLevel('ERROR', 'boom', { sdkComponent: 'worker' })).toBe('error');
    expect(sdkLogLevel('WARN', 'poll failed', { sdkComponent: 'core' })).toBe('warn');
    expect(sdkLogLevel('INFO', 'install 1: active', { sdkComponent: 'workflow' })).toBe('info');
    expect(sdkLogLevel('INFO', 'Workflow bundle created', { sdkComponent: 'worker' })).toBeNull();
    expect(sdkLogLevel('DEBUG', 'x', undefined)).toBeNull();
  });

  test('a slow task of an order workflow (its fetch waiting for the rate quota) is debug; of any other workflow, a warning', () => {
    expect(sdkLogLevel('WARN', slowTask, { sdkComponent: 'core', workflow_type: 'orderWorkflow' })).toBe('debug');
    expect(sdkLogLevel('WARN', slowTask, { sdkComponent: 'core', workflow_type: 'merchantWorkflow' })).toBe('warn');
    expect(sdkLogLevel('WARN', slowTask, { sdkComponent: 'core', workflow_type: 'refundWorkflow' })).toBe('warn');
    expect(sdkLogLevel('WARN', 'another warning', { sdkComponent: 'core', workflow_type: 'orderWorkflow' })).toBe('warn');
  });
});
