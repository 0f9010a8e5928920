import { loadConfig } from '../../src/config';
import { IngestGauge } from '../../src/worker/ingest-first';
import { workerCapacity } from '../../src/worker/worker';

const base = { NODE_ENV: 'test', DASHBOARD_API_KEY: 'a-dashboard-key-of-length', ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };

describe('workerCapacity', () => {
  test("unset: the SDK's slots, and its own cache size (no maxCachedWorkflows passed)", () => {
    const options = workerCapacity(loadConfig(base), undefined);
    expect(options).toEqual({ maxConcurrentWorkflowTaskExecutions: 40, maxConcurrentLocalActivityExecutions: 100 });
    expect('maxCachedWorkflows' in options).toBe(false);
  });

  test('WORKER_MAX_CACHED_WORKFLOWS reaches the worker, beside the fixed slots and beside the tuner of a worker yielding to ingest', () => {
    const config = loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '5000', WORKER_MAX_WORKFLOW_TASKS: '8' });
    expect(workerCapacity(config, undefined)).toEqual({ maxConcurrentWorkflowTaskExecutions: 8, maxConcurrentLocalActivityExecutions: 100, maxCachedWorkflows: 5000 });
    const yielding = workerCapacity(config, new IngestGauge());
    expect(yielding.maxCachedWorkflows).toBe(5000);
    expect(yielding.tuner).toBeDefined();
    expect(workerCapacity(loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: '0' }), undefined).maxCachedWorkflows).toBe(0);
  });
});
