import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'
import tseslint from 'typescript-eslint'

export default [
  ...neostandard({ ts: true, ignores: [...resolveIgnoresFromGitignore()] }),
  {
    files: ['src/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error'
    }
  },
  {
    // Every line fits in 140 characters: strings, comments and templates wrap too; only URLs may run longer.
    files: ['**/*.{ts,js,mjs}'],
    rules: { '@stylistic/max-len': ['error', { code: 140, ignoreUrls: true }] }
  },
  {
    // The core is pure: no framework, logger or I/O imports.
    files: ['src/core/**/*.ts', 'src/routes/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          {
            group: ['node:*', 'fastify', 'fastify-plugin', 'express', 'pino', '@fastify/*'],
            message: 'src/core is pure: no framework, logger or I/O imports.'
          },
          {
            group: ['**/fastify*', '**/express*', '**/cli*', '**/gateway/*', '**/identity/*', '**/adapter-flow*'],
            message: 'src/core must not import adapters.'
          }
        ]
      }]
    }
  }
]
