/* eslint-env node */
module.exports = {
  root: true,
  parser: '@typescript-eslint/parser',
  parserOptions: {
    project: ['./tsconfig.json'],
    tsconfigRootDir: __dirname,
  },
  plugins: ['@typescript-eslint'],
  extends: [
    'eslint:recommended',
    'plugin:@typescript-eslint/recommended-type-checked',
  ],
  rules: {
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-misused-promises': 'error',
    '@typescript-eslint/require-await': 'off',
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    // Exact names, not patterns: a pattern 'util' would also match lib/util/.
    'no-restricted-imports': ['error', {
      paths: ['fs', 'path', 'os', 'net', 'http', 'child_process', 'crypto', 'events', 'util', 'readline', 'async_hooks', 'stream', 'timers', 'timers/promises', 'zlib'].map((name) => ({ name, message: 'Use the node: prefix for core modules.' })),
    }],
  },
  overrides: [
    {
      files: ['spec/**/*.ts'],
      rules: {
        '@typescript-eslint/no-unsafe-assignment': 'off',
        '@typescript-eslint/no-unsafe-member-access': 'off',
        '@typescript-eslint/unbound-method': 'off',
      },
    },
  ],
  ignorePatterns: ['dist/', 'node_modules/', '*.js', '*.cjs'],
};
