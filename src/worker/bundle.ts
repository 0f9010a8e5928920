import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflows } from './bundle-cache';

/** Where `npm run build` leaves the pre-bundled workflows, next to the compiled worker (dist/workflow-bundle.js). */
export const PREBUILT_BUNDLE = path.resolve(__dirname, '..', 'workflow-bundle.js');

/** `npm run build`, after tsc: bundles the workflows once, so a container's worker starts without webpack. */
async function main() {
  const code = await bundleWorkflows();
  writeFileSync(PREBUILT_BUNDLE, code);
  process.stdout.write(`workflow bundle: ${PREBUILT_BUNDLE} (${Math.round(code.length / 1024)} KiB)\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
