import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

// The boundary rules of DESIGN.md §3, enforced: imports flow routes → services → (domain, repositories) → db.
const noImport = (patterns, message) => ['error', { patterns: patterns.map((group) => ({ group, message })) }];

export default ts.config(
	{
		ignores: ['build/', 'build-server/', '.svelte-kit/', 'data/', 'node_modules/', 'bench/results/', 'test-results/', 'playwright-report/']
	},
	js.configs.recommended,
	...ts.configs.recommended,
	...svelte.configs.recommended,
	prettier,
	...svelte.configs.prettier,
	{
		languageOptions: { globals: { ...globals.browser, ...globals.node } },
		rules: {
			'no-undef': 'off',
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
			'@typescript-eslint/no-explicit-any': 'off',
			'svelte/no-navigation-without-resolve': 'off'
		}
	},
	{
		files: ['**/*.svelte', '**/*.svelte.ts', '**/*.svelte.js'],
		languageOptions: { parserOptions: { projectService: true, extraFileExtensions: ['.svelte'], parser: ts.parser, svelteConfig } }
	},
	{
		files: ['src/lib/domain/**/*.ts'],
		ignores: ['src/lib/domain/**/*.spec.ts'],
		rules: {
			'no-restricted-imports': noImport(
				[['$lib/server/*', '**/server/**', 'node:*', '$app/*', '$env/*', 'kysely', 'pg']],
				'Domain code is pure: no server modules, I/O, env or framework imports.'
			)
		}
	},
	{
		files: ['src/lib/server/repositories/**/*.ts'],
		rules: {
			'no-restricted-imports': noImport(
				[['**/services/**', '$lib/server/services/*', '$app/*']],
				'Repositories are SQL only: they do not call services.'
			)
		}
	},
	{
		files: ['src/lib/server/**/*.ts'],
		ignores: ['src/lib/server/app.ts'],
		rules: {
			'no-restricted-imports': noImport(
				[['**/routes/**', '$app/*']],
				'Nothing imports routes; server code does not depend on SvelteKit runtime modules.'
			)
		}
	},
	{
		files: ['src/routes/**/*.ts', 'src/routes/**/*.svelte'],
		rules: {
			'no-restricted-imports': noImport(
				[['kysely', '$lib/server/repositories/*', '$lib/server/db/*']],
				'Routes are thin: call a service, never the database.'
			)
		}
	},
	{
		files: ['server/**/*.ts'],
		rules: {
			'no-restricted-imports': noImport([['../src/**', '$lib/*']], 'server/ holds only process and transport; it imports no app module.')
		}
	}
);
