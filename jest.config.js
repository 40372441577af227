/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
  },
  moduleNameMapper: {
    '^plugwire$': '<rootDir>/lib/index.ts',
    '^plugwire/nest$': '<rootDir>/lib/nest/index.ts',
  },
  // Every spec starts real processes; two workers match the two cores CI has.
  maxWorkers: 2,
  testTimeout: 30000,
};
