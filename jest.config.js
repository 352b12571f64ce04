// Unit specs (*.spec.ts) run in isolation; integration specs (*.integration-spec.ts) run
// serially against the real local stack. Both compile with swc from tsconfig.base.json.
const { swcOptions, paths } = require('./tools/dev/swc-options.cjs');

const moduleNameMapper = Object.fromEntries(
  Object.entries(paths).map(([alias, [target]]) => [`^${alias.replace('/', '\\/')}$`, `<rootDir>/${target}`]),
);
const shared = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { ...swcOptions(), swcrc: false }] },
  moduleNameMapper,
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/tools', '<rootDir>/load-tests'],
};

module.exports = {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['**/*.integration-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/tools/dev/jest-integration.setup.cjs'],
      slowTestThreshold: 30,
    },
  ],
};
