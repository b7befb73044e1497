// generate.js - the Generate form and the list of names it returns.

import { api } from './api.js';
import { el, fieldError, heartIcon, oneIn, setBusy } from './dom.js';
import { chosenCountries, countryName, onChosenChange } from './countries.js';
import { GENDER_WORD } from './favorites.js';

const COUNT_MAX = 100; // the API's limit
const LOGPROB_FLOOR = -30; // the likelihood bar is empty at this log-prob

const $ = (id) => document.getElementById(id);

let maxLength = 64;
let hooks = { isLiked: () => false, onHeart: () => {}, onWhy: () => {} };
let running = false;

// fieldInputs maps the API's request fields to the form's inputs.
const FIELDS = {
	prefix: 'prefix',
	min_length: 'min-length',
	max_length: 'max-length',
	count: 'count',
};

function clearErrors() {
	for (const id of Object.values(FIELDS)) fieldError($(id), '');
	$('countries-error').textContent = '';
	$('gen-error').hidden = true;
	$('gen-error').textContent = '';
}

function intOrNull(input) {
	const v = input.value.trim();
	if (!v) return null;
	const n = Number(v);
	return Number.isInteger(n) ? n : NaN;
}

// request reads the form into a GenerateRequest, or shows what is wrong
// under the field and returns null.
function request() {
	const countries = chosenCountries();
	const prefix = $('prefix').value.trim();
	const min = intOrNull($('min-length'));
	const max = intOrNull($('max-length'));
	const count = intOrNull($('count'));
	let bad = null;

	const wrong = (input, msg) => {
		fieldError(input, msg);
		bad = bad || input;
	};
	if (!countries.length) {
		$('countries-error').textContent = 'Choose at least one country.';
		bad = $('country-search');
	}
	if (min !== null && !(min >= 1 && min <= maxLength))
		wrong(
			$('min-length'),
			`Shortest must be a whole number from 1 to ${maxLength}.`,
		);
	if (max !== null && !(max >= 1 && max <= maxLength))
		wrong(
			$('max-length'),
			`Longest must be a whole number from 1 to ${maxLength}.`,
		);
	else if (max !== null && min !== null && min <= maxLength && max < min)
		wrong($('max-length'), 'Longest cannot be shorter than Shortest.');
	if (count === null || !(count >= 1 && count <= COUNT_MAX))
		wrong(
			$('count'),
			`How many must be a whole number from 1 to ${COUNT_MAX}.`,
		);
	if (prefix && max !== null && [...prefix].length > max)
		wrong($('prefix'), 'The start is longer than Longest.');
	if (bad) {
		bad.focus();
		return null;
	}

	const req = {
		countries: countries.length === 1 ? [countries[0].code] : countries,
		gender: document.querySelector('input[name="gender"]:checked').value,
		count,
		temperature: Number($('temperature').value),
		novel: $('novel').checked,
	};
	if (prefix) req.prefix = prefix;
	if (min !== null) req.min_length = min;
	if (max !== null) req.max_length = max;
	return req;
}

// showApiError puts an error from the API under the field it names;
// returns false when it is about no field (the service's own state).
function showApiError(err) {
	const msg = err.message.toLowerCase();
	for (const [field, id] of Object.entries(FIELDS)) {
		if (err.field === field || msg.startsWith(field)) {
			// "min_length: 30 is above ..." reads "Shortest: 30 is above ..."
			const label = document.querySelector(`label[for="${id}"]`);
			const text = msg.startsWith(field)
				? label.textContent.trim() +
					err.message.slice(field.length)
				: err.message;
			fieldError($(id), text);
			$(id).focus();
			return true;
		}
	}
	if (err.field === 'countries' || msg.startsWith('countr')) {
		$('countries-error').textContent = err.message;
		return true;
	}
	$('gen-error').textContent = err.message;
	$('gen-error').hidden = false;
	return false;
}

// origin is what a like records for a generated name: the country with
// the most weight in the mix, and the gender asked for.
function origin(req) {
	const list = req.countries.map((c) =>
		typeof c === 'string' ? { code: c, weight: 1 } : c,
	);
	const top = list.reduce((a, b) => (b.weight > a.weight ? b : a));
	return { country: top.code, gender: req.gender };
}

function describe(req) {
	const cs = req.countries.map((c) =>
		countryName(typeof c === 'string' ? c : c.code),
	);
	const parts = [
		cs.length > 2
			? `${cs.slice(0, -1).join(', ')} and ${cs.at(-1)}`
			: cs.join(' and '),
	];
	if (req.gender !== 'any') parts.push(`${GENDER_WORD[req.gender]}'s names`);
	if (req.prefix) parts.push(`starting with “${req.prefix}”`);
	return parts.join(', ');
}

function heartButton(f) {
	const b = el(
		'button',
		{
			type: 'button',
			class: 'icon-button heart',
			'aria-label': `Like ${f.name}`,
			'aria-pressed': 'false',
		},
		heartIcon(),
	);
	b.addEventListener('click', () => hooks.onHeart(f, b));
	return b;
}

// refreshHearts shows, on every generated name, whether it is liked.
export function refreshHearts() {
	for (const li of $('results').children) {
		const b = li.querySelector('.heart');
		const on = hooks.isLiked(li.favorite);
		b.setAttribute('aria-pressed', on ? 'true' : 'false');
		b.title = on ? 'In your favorites' : 'Keep this name';
	}
}

function render(req, reply) {
	const names = Array.isArray(reply.names) ? reply.names : [];
	const from = origin(req);
	const rows = names.map((n) => {
		const f = {
			name: String(n.name),
			country: from.country,
			gender: from.gender,
		};
		const lp = Number(n.log_prob);
		const fill = Math.max(
			0.04,
			Math.min(1, (lp - LOGPROB_FLOOR) / -LOGPROB_FLOOR),
		);
		const meter = el(
			'span',
			{ class: 'meter', 'aria-hidden': 'true' },
			el('span', { class: 'meter-fill' }),
		);
		meter.firstChild.style.setProperty('--fill', fill.toFixed(3));
		const known = Boolean(n.in_training_data);
		const li = el(
			'li',
			{ class: 'name-row' },
			el('span', { class: 'name-text', text: f.name }),
			el('span', {
				class: known ? 'badge known' : 'badge new',
				title: known
					? 'This name is in the training data'
					: 'The model made this one up',
				text: known ? 'known' : 'new',
			}),
			el(
				'span',
				{
					class: 'odds',
					title: `log-probability ${lp.toFixed(2)}`,
				},
				meter,
				el(
					'span',
					{ class: 'odds-text' },
					el('span', {
						class: 'sr-only',
						text: 'likelihood ',
					}),
					oneIn(lp),
				),
			),
			el(
				'span',
				{ class: 'row-actions' },
				el(
					'button',
					{
						type: 'button',
						class: 'button small ghost why',
						'aria-label': `Why ${f.name}?`,
						onclick: () => hooks.onWhy(f.name),
					},
					'Why?',
				),
				heartButton(f),
			),
		);
		li.favorite = f;
		return li;
	});
	$('results').replaceChildren(...rows);
	refreshHearts();

	let text;
	if (!names.length)
		text =
			'No names this time. Try a shorter start, a wider ' +
			'length range or more creativity.';
	else
		text = `${names.length} name${names.length === 1 ? '' : 's'}: ${describe(req)}.`;
	if (reply.incomplete) {
		const why = reply.incomplete_reason ? `: ${reply.incomplete_reason}` : '';
		text += ` Fewer than the ${req.count} asked for${why}.`;
	}
	$('results-status').textContent = text;
}

// revealResults scrolls the names into view when they landed out of
// sight (on a phone they are below the form).
function revealResults() {
	const title = $('res-title');
	const r = title.getBoundingClientRect();
	if (r.top >= 0 && r.top < window.innerHeight) return;
	const still = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
	title.scrollIntoView({ block: 'start', behavior: still ? 'auto' : 'smooth' });
}

async function submit(ev) {
	ev.preventDefault();
	if (running) return;
	clearErrors();
	const req = request();
	if (!req) return;
	running = true;
	const button = $('gen-submit');
	setBusy(button, true, 'Generating…');
	$('results').classList.add('stale');
	$('results').setAttribute('aria-busy', 'true');
	$('results-status').textContent = 'Generating names…';
	try {
		const reply = await api('POST', '/names', req);
		render(req, reply);
		revealResults();
	} catch (err) {
		$('results-status').textContent = showApiError(err)
			? 'No names: a setting needs a change (see the form).'
			: `No names: ${err.message}`;
	} finally {
		running = false;
		setBusy(button, false);
		$('results').classList.remove('stale');
		$('results').removeAttribute('aria-busy');
	}
}

// init wires the form. h: isLiked(f), onHeart(f, button), onWhy(name).
export function init(h, meta) {
	hooks = { ...hooks, ...h };
	if (Number.isInteger(meta.max_length) && meta.max_length > 0)
		maxLength = meta.max_length;
	for (const id of ['min-length', 'max-length']) $(id).max = String(maxLength);
	$('prefix').maxLength = maxLength;
	const temp = $('temperature');
	const out = $('temperature-out');
	const show = () => {
		out.textContent = Number(temp.value).toFixed(1);
	};
	temp.addEventListener('input', show);
	show();
	$('gen-form').addEventListener('submit', submit);
	onChosenChange(() => {
		if (chosenCountries().length) $('countries-error').textContent = '';
	});
}
