// favorites.js - the logged-in user's favorites: the panel (newest first,
// a page at a time, with remove) and the set of liked names that the
// hearts on generated names show.

import { api } from './api.js';
import { el, formatDate, setBusy } from './dom.js';
import { countryName } from './countries.js';
import * as session from './session.js';

const PAGE = 10; // favorites per page (the API allows 1 to 100)
const PRIME = 100; // newest favorites read at login for the hearts

let items = []; // the pages loaded so far, newest first
let cursor = null; // next_cursor of the last page loaded, null at the end
let loading = false;
let again = false; // a first-page load was asked for while one ran
const liked = new Set(); // keys of names known to be favorites
const listeners = new Set();

const $ = (id) => document.getElementById(id);

export const GENDER_WORD = { female: 'girl', male: 'boy', any: 'either' };

// key identifies a favorite the way the API does: name, country, gender.
export function key(f) {
	return `${f.name}\u0000${f.country || ''}\u0000${f.gender || 'any'}`;
}

export function isLiked(f) {
	return liked.has(key(f));
}

// onLikedChange calls fn() whenever the set of liked names changes.
export function onLikedChange(fn) {
	listeners.add(fn);
}

function likedChanged() {
	for (const fn of listeners) fn();
}

function status(text) {
	$('fav-status').textContent = text;
	$('fav-status').hidden = !text;
}

function failed(err) {
	if (err.status === 401) session.expired();
	return err;
}

function render() {
	const list = $('favorites');
	list.replaceChildren(
		...items.map((f) => {
			const where = [
				f.country ? countryName(f.country) : '',
				f.gender && f.gender !== 'any'
					? GENDER_WORD[f.gender]
					: '',
				formatDate(f.created_at),
			]
				.filter(Boolean)
				.join(' · ');
			const remove = el(
				'button',
				{
					type: 'button',
					class: 'icon-button remove',
					'aria-label': `Remove ${f.name} from favorites`,
					title: 'Remove',
				},
				el('span', { 'aria-hidden': 'true', text: '×' }),
			);
			remove.addEventListener('click', () => removeItem(f, remove));
			return el(
				'li',
				{ class: 'fav', 'data-name': f.name },
				el('span', { class: 'fav-name', text: f.name }),
				el('span', { class: 'fav-meta', text: where }),
				remove,
			);
		}),
	);
	const more = $('fav-more');
	more.hidden = !cursor;
	if (!session.currentUser()) status('Log in to keep the names you like.');
	else if (!items.length)
		status('No favorites yet. Tap the heart next to a name to keep it.');
	else status('');
}

// clear forgets everything (logged out).
export function clear() {
	again = false;
	items = [];
	cursor = null;
	liked.clear();
	render();
	likedChanged();
}

// primeLiked reads the newest favorites (up to PRIME) once after a login,
// so that hearts on generated names show them beyond the panel's page.
// A failure only leaves hearts unfilled; the panel reports its own.
export async function primeLiked() {
	if (!session.currentUser()) return;
	try {
		const r = await api('GET', `/me/favorites?limit=${PRIME}`);
		if (!session.currentUser() || !Array.isArray(r.favorites)) return;
		for (const f of r.favorites) liked.add(key(f));
		likedChanged();
	} catch (err) {
		failed(err);
	}
}

// load fetches the first page (more=false) or the next one. A first-page
// load asked for while another load runs happens when that one ends, so
// a like made meanwhile is never missed.
export async function load(more = false) {
	if (!session.currentUser()) return;
	if (loading) {
		again = again || !more;
		return;
	}
	loading = true;
	const button = $('fav-more');
	if (more) setBusy(button, true, 'Loading…');
	else $('favorites').setAttribute('aria-busy', 'true');
	if (!more && !items.length) status('Loading favorites…');
	try {
		let path = `/me/favorites?limit=${PAGE}`;
		if (more && cursor) path += `&cursor=${encodeURIComponent(cursor)}`;
		const r = await api('GET', path);
		const page = Array.isArray(r.favorites) ? r.favorites : [];
		items = more ? items.concat(page) : page;
		cursor =
			typeof r.next_cursor === 'string' && r.next_cursor
				? r.next_cursor
				: null;
		for (const f of page) liked.add(key(f));
		render();
		likedChanged();
	} catch (err) {
		failed(err);
		render();
		status(err.message);
	} finally {
		loading = false;
		setBusy(button, false);
		$('favorites').removeAttribute('aria-busy');
		if (again) {
			again = false;
			load(false);
		}
	}
}

// like keeps a name ({name, country, gender}); the list shows it first.
export async function like(f) {
	try {
		await api('PUT', '/me/favorites', {
			name: f.name,
			country: f.country || '',
			gender: f.gender || 'any',
		});
	} catch (err) {
		throw failed(err);
	}
	liked.add(key(f));
	likedChanged();
	await load(false);
}

export async function unlike(f) {
	try {
		await api('DELETE', '/me/favorites', {
			name: f.name,
			country: f.country || '',
			gender: f.gender || 'any',
		});
	} catch (err) {
		throw failed(err);
	}
	liked.delete(key(f));
	items = items.filter((i) => key(i) !== key(f));
	render();
	likedChanged();
}

async function removeItem(f, button) {
	const li = button.closest('li');
	const next = li.nextElementSibling || li.previousElementSibling;
	setBusy(button, true);
	li.classList.add('removing');
	try {
		await unlike(f);
		// keep the keyboard where it was: on the neighbour, else the title
		const target =
			next && $('favorites').contains(next)
				? next.querySelector('button')
				: null;
		(target || $('fav-title')).focus();
	} catch (err) {
		li.classList.remove('removing');
		setBusy(button, false);
		status(err.message);
	}
}

export function init() {
	$('fav-more').addEventListener('click', () => load(true));
	render();
}
