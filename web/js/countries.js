// countries.js - the searchable country list, and the mix of the chosen
// ones with a weight each when there are several.

import { el, formatCount } from './dom.js';

const MAX_CHOSEN = 16; // the API's limit on countries in one request
const WEIGHT_DEFAULT = 5;

let countries = []; // [{code, name, training_names}] from /meta
const byCode = new Map();
const chosen = new Map(); // code -> weight, in the order chosen
const changeListeners = new Set();

const $ = (id) => document.getElementById(id);

// fold makes search forgiving: case and accents do not matter.
function fold(s) {
	return s
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase();
}

export function countryName(code) {
	const c = byCode.get(code);
	return c ? c.name : code;
}

export function onChosenChange(fn) {
	changeListeners.add(fn);
}

function changed() {
	renderWeights();
	limitChoices();
	for (const fn of changeListeners) fn();
}

// chosenCountries returns [{code, weight}] in the order chosen.
export function chosenCountries() {
	return [...chosen].map(([code, weight]) => ({ code, weight }));
}

function limitChoices() {
	const full = chosen.size >= MAX_CHOSEN;
	for (const box of $('country-list').querySelectorAll('input')) {
		box.checked = chosen.has(box.value);
		box.disabled = full && !box.checked;
	}
}

function choose(code, on) {
	if (!byCode.has(code)) return;
	const had = chosen.has(code);
	if (on && !had && chosen.size < MAX_CHOSEN) chosen.set(code, WEIGHT_DEFAULT);
	else if (!on) chosen.delete(code);
	changed();
	// say what changed: the mix below is not read out as it redraws
	if (had !== chosen.has(code)) {
		const n = chosen.size;
		$('country-live').textContent =
			`${countryName(code)} ${on ? 'added' : 'removed'}; ` +
			`${n} countr${n === 1 ? 'y' : 'ies'} chosen.`;
	}
}

// pickFirst: Enter in the search box adds the first country shown
// (instead of submitting the form) and clears the search.
function pickFirst(ev) {
	if (ev.key !== 'Enter') return;
	ev.preventDefault();
	const input = $('country-search');
	if (!input.value.trim()) return;
	const row = [...$('country-list').querySelectorAll('.country')].find(
		(r) => !r.hidden,
	);
	if (!row) return;
	choose(row.dataset.code, true);
	input.value = '';
	filter();
}

function renderList() {
	const list = $('country-list');
	const rows = countries.map((c) =>
		el(
			'label',
			{ class: 'country', 'data-code': c.code },
			el('input', { type: 'checkbox', value: c.code, name: 'country' }),
			el('span', { class: 'code', text: c.code }),
			el('span', { class: 'country-name', text: c.name }),
			el('span', {
				class: 'count',
				text: formatCount(c.training_names || 0),
				title: 'names in the training data',
			}),
		),
	);
	list.replaceChildren(...rows);
	list.removeAttribute('aria-busy');
	list.addEventListener('change', (ev) => {
		if (ev.target.name === 'country')
			choose(ev.target.value, ev.target.checked);
	});
}

function filter() {
	const q = fold($('country-search').value.trim());
	let shown = 0;
	for (const row of $('country-list').querySelectorAll('.country')) {
		const c = byCode.get(row.dataset.code);
		const hit = !q || fold(c.code).startsWith(q) || fold(c.name).includes(q);
		row.hidden = !hit;
		shown += hit ? 1 : 0;
	}
	const empty = $('country-empty');
	empty.hidden = shown > 0;
	empty.textContent = shown
		? ''
		: `No country matches “${$('country-search').value.trim()}”.`;
}

// share is what fraction of the mix a country has.
function share(code) {
	let total = 0;
	for (const w of chosen.values()) total += w;
	return total > 0 ? chosen.get(code) / total : 0;
}

function renderWeights() {
	const box = $('selected');
	const list = $('weights');
	const several = chosen.size > 1;

	box.hidden = chosen.size === 0;
	$('weights-hint').hidden = !several;
	$('selected-title').textContent = several ? 'Mix' : 'Chosen';
	const rows = [];
	for (const [code, weight] of chosen) {
		const id = `weight-${code}`;
		const out = el('output', {
			for: id,
			class: 'share',
			'data-code': code,
			text: `${Math.round(share(code) * 100)}%`,
		});
		const remove = el(
			'button',
			{
				type: 'button',
				class: 'chip-remove',
				'aria-label': `Remove ${countryName(code)}`,
				onclick: () => choose(code, false),
			},
			'×',
		);
		const row = el(
			'li',
			{ class: 'weight-row' },
			el('span', { class: 'code', text: code }),
			several
				? el('label', {
						for: id,
						class: 'weight-label',
						text: countryName(code),
					})
				: el('span', {
						class: 'weight-label',
						text: countryName(code),
					}),
		);
		if (several) {
			const slider = el('input', {
				type: 'range',
				id,
				min: 1,
				max: 10,
				step: 1,
				value: weight,
				'aria-label': `Weight of ${countryName(code)}`,
			});
			slider.addEventListener('input', () => {
				chosen.set(code, Number(slider.value));
				for (const o of list.querySelectorAll('output.share')) {
					const pc = Math.round(
						share(o.dataset.code) * 100,
					);
					o.textContent = `${pc}%`;
				}
			});
			row.append(slider, out);
		}
		row.append(remove);
		rows.push(row);
	}
	list.replaceChildren(...rows);
}

// setCountries fills the list from /meta's countries. preselect is a code
// chosen when the list has it (the visitor's own region).
export function setCountries(list, preselect) {
	countries = [...list].sort((a, b) => a.name.localeCompare(b.name, 'en'));
	byCode.clear();
	for (const c of countries) byCode.set(c.code, c);
	renderList();
	$('country-search').addEventListener('input', filter);
	$('country-search').addEventListener('keydown', pickFirst);
	$('btn-clear').addEventListener('click', () => {
		chosen.clear();
		changed();
		$('country-search').focus();
	});
	if (preselect && byCode.has(preselect)) choose(preselect, true);
	else changed();
}

// countryListLoading shows the list's loading state again (a retry).
export function countryListLoading() {
	const list = $('country-list');
	list.setAttribute('aria-busy', 'true');
	list.replaceChildren(
		el(
			'p',
			{ class: 'loading-line' },
			el('span', { class: 'spinner', 'aria-hidden': 'true' }),
			'Loading countries…',
		),
	);
}

export function countryListError(message, retry) {
	const list = $('country-list');
	list.removeAttribute('aria-busy');
	list.replaceChildren(
		el('p', { class: 'form-error', role: 'alert', text: message }),
		el(
			'button',
			{ type: 'button', class: 'button ghost', onclick: retry },
			'Try again',
		),
	);
}
