import * as devalue from 'devalue';
import { describe, expect, it } from 'vitest';
import { fieldWithNul, nulFieldResponse } from './http';

const form = (body: string, headers: Record<string, string> = {}) =>
	new Request('http://warroom.test/actions?/status', {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
		body
	});

describe('a NUL character in a form (PostgreSQL cannot store it)', () => {
	it('names the first field holding one, and leaves the body for the action', async () => {
		const req = form(new URLSearchParams({ status: 'done', id: 'a\u0000b' }).toString());
		expect(await fieldWithNul(req)).toBe('id');
		expect((await req.formData()).get('status')).toBe('done');
		expect(await fieldWithNul(form('status=done&id=abc'))).toBeNull();
		const multipart = new FormData();
		multipart.set('username', 'x\u0000');
		expect(await fieldWithNul(new Request('http://warroom.test/login', { method: 'POST', body: multipart }))).toBe('username');
		// Not a form: the API reads JSON itself.
		expect(
			await fieldWithNul(
				new Request('http://w.test/api', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"\\u0000"' })
			)
		).toBeNull();
	});

	it('answers an enhanced form with a 400 action failure naming the field, others with a 400 page', async () => {
		const enhanced = nulFieldResponse(form('', { accept: 'application/json', 'x-sveltekit-action': 'true' }), 'id');
		const result = (await enhanced.json()) as { type: string; status: number; data: string };
		expect(result).toMatchObject({ type: 'failure', status: 400 });
		expect(devalue.parse(result.data)).toMatchObject({ code: 'control_characters', errors: { id: { code: 'control_characters' } } });
		const plain = nulFieldResponse(form(''), 'title');
		expect(plain.status).toBe(400);
		expect(await plain.text()).toContain('title contains a NUL character');
	});
});
