// session.js - who is logged in. The session cookie is HttpOnly, so the
// page cannot see it: it keeps a hint in localStorage that a login
// happened, and asks /api/v1/me on load only then (a visitor who never
// logged in costs no 401). The server stays the only judge: a 401 from
// any call ends the page's idea of the session.

import { api } from './api.js';

const HINT_KEY = 'namegen.session';

let user = null;
const listeners = new Set();

function hint(on) {
	try {
		if (on) localStorage.setItem(HINT_KEY, '1');
		else localStorage.removeItem(HINT_KEY);
	} catch {
		// storage refused (private mode): /me is asked on every load
	}
}

function hinted() {
	try {
		return localStorage.getItem(HINT_KEY) === '1';
	} catch {
		return true;
	}
}

function set(next) {
	user = next;
	hint(Boolean(next));
	for (const fn of listeners) fn(user);
}

export function currentUser() {
	return user;
}

// onChange calls fn(user or null) now and on every change.
export function onChange(fn) {
	listeners.add(fn);
	fn(user);
}

// restore asks the server who is logged in, when a login was hinted.
// Errors other than 401 are thrown (the page shows them) and leave the
// hint for the next load.
export async function restore() {
	if (!hinted()) return null;
	try {
		const r = await api('GET', '/me');
		set(r.user || null);
	} catch (e) {
		if (e.status === 401) set(null);
		else throw e;
	}
	return user;
}

export async function login(email, password) {
	const r = await api('POST', '/session', { email, password });
	set(r.user || { username: email, email });
	return user;
}

// register creates the account (it does not log in).
export async function register(username, email, password) {
	await api('POST', '/users', { username, email, password });
}

export async function logout() {
	try {
		await api('DELETE', '/session');
	} catch (e) {
		if (e.status !== 401) throw e;
	}
	set(null);
}

// changePassword ends every other session of the user; this one goes
// on. Returns how many sessions ended.
export async function changePassword(oldPassword, newPassword) {
	const r = await api('PUT', '/me/password', {
		old_password: oldPassword,
		new_password: newPassword,
	});
	return r && Number.isInteger(r.sessions_ended) ? r.sessions_ended : 0;
}

export async function deleteAccount(password) {
	await api('DELETE', '/me', { password });
	set(null);
}

// expired is called when a call answered 401: the session is gone.
export function expired() {
	if (user) set(null);
	else hint(false);
}
