/**
 * The workflows this worker runs. Deterministic code only: no I/O, no clocks, no randomness outside the SDK's.
 * No state at a module's top level either: the worker loads these modules once and shares them between its
 * runs (src/worker/bundle-cache.ts; test/unit/workflow-modules.test.ts holds them to it).
 */
export { merchantWorkflow } from './merchant';
export { orderWorkflow } from './order';
export { refundWorkflow } from './refund';
export { importWorkflow } from './import';
export { redemptionWorkflow } from './redemption';
