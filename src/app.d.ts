import type { Actor } from '$lib/server/context';
import type { SessionRow, UserRow } from '$lib/server/db/schema';
import type { Locale } from '$lib/i18n';

declare global {
	namespace App {
		interface Error {
			message: string;
			errorId?: string;
			code?: string;
		}
		interface Locals {
			user: UserRow | null;
			session: SessionRow | null;
			actor: Actor | null;
			locale: Locale;
			timeZone: string;
		}
	}
}

export {};
