/** Every test: unit tests of pure code and integration tests against the real
 * Temporal dev server and store that test/setup/global-setup.ts starts. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 120_000,
  // Integration files each run a worker; two at a time is what two cores carry.
  maxWorkers: 2,
  // Every file closes what it opens (a run without this ended by itself), but a handle
  // leaked by a future change must not hold CI until its timeout.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/setup/summary-reporter.js'],
};
