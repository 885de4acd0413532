// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The product (and what ships beside it: the demo, the benchmarks) never depends on the
// test suites; the demo and the benchmarks may use the test bed (testbed/), the product not.
const suites = ['**/e2e/**', '**/test/**'];
const restrictImports = (patterns) => ({
  'no-restricted-imports': [
    'error',
    { patterns: [{ group: patterns, message: 'the product must not depend on this' }] },
  ],
});

export default tseslint.config(
  { ignores: ['node_modules/', '**/build/', '**/.output/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Async operator and agent code: a dropped promise is a lost error.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['agent/**', 'operator/**', 'cli/**', 'common/**', 'crds/**'],
    rules: restrictImports([...suites, '**/testbed/**']),
  },
  { files: ['demo/**', 'bench/**', 'testbed/**'], rules: restrictImports(suites) },
  {
    files: ['test/**/*.ts', 'e2e/**/*.ts'],
    rules: {
      // chai's `expect(x).to.be.true` style is an expression statement.
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['scripts/register-ts.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
