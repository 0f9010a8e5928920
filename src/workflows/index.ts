/** The workflows this worker runs. Deterministic code only: no I/O, no clocks, no randomness outside the SDK's. */
export { merchantWorkflow } from './merchant';
export { orderWorkflow } from './order';
export { refundWorkflow } from './refund';
export { importWorkflow } from './import';
export { redemptionWorkflow } from './redemption';
