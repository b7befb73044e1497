// score.js - "Why this name?": which countries and gender a name sounds
// like to the model, as two small bar charts.

import { api } from './api.js';
import { el, fieldError, percent, setBusy } from './dom.js';
import { countryName } from './countries.js';
import { GENDER_WORD } from './favorites.js';

const TOP = 6; // countries drawn; the rest are summed as "Others"

const $ = (id) => document.getElementById(id);
let running = false;

function bar(label, code, p, best) {
	const fill = el('span', { class: 'bar-fill' });
	fill.style.setProperty('--fill', Math.max(0, Math.min(1, p)).toFixed(4));
	return el(
		'li',
		{ class: best ? 'bar best' : 'bar' },
		el(
			'span',
			{ class: 'bar-label' },
			code ? el('span', { class: 'code', text: code }) : null,
			el('span', { text: label }),
		),
		el('span', { class: 'bar-track', 'aria-hidden': 'true' }, fill),
		el('span', { class: 'bar-value', text: percent(p) }),
	);
}

function render(reply) {
	const countries = (Array.isArray(reply.countries) ? reply.countries : [])
		.filter((c) => c && typeof c.code === 'string')
		.sort((a, b) => b.probability - a.probability);
	const genders = (Array.isArray(reply.genders) ? reply.genders : [])
		.filter((g) => g && GENDER_WORD[g.gender])
		.sort((a, b) => b.probability - a.probability);
	const name = String(reply.name || '');

	const top = countries.slice(0, TOP);
	const rest = countries
		.slice(TOP)
		.reduce((s, c) => s + (Number(c.probability) || 0), 0);
	const cBars = top.map((c, i) =>
		bar(countryName(c.code), c.code, c.probability, i === 0),
	);
	if (rest > 0)
		cBars.push(bar(`${countries.length - TOP} others`, '', rest, false));
	const gBars = genders.map((g, i) =>
		bar(`A ${GENDER_WORD[g.gender]}'s name`, '', g.probability, i === 0),
	);

	const summary = [];
	if (top.length) {
		const [c] = top;
		summary.push(
			`sounds most like ${countryName(c.code)} (${percent(c.probability)})`,
		);
	}
	if (genders.length) {
		const [g] = genders;
		const word = GENDER_WORD[g.gender];
		summary.push(`more like a ${word}'s name (${percent(g.probability)})`);
	}

	$('score-result').replaceChildren(
		el(
			'p',
			{ class: 'score-summary' },
			el('strong', { class: 'score-name', text: name }),
			summary.length ? ` ${summary.join(', ')}.` : '',
		),
		el('h3', {
			class: 'chart-title',
			id: 'score-countries-title',
			text: 'Countries it sounds like',
		}),
		el(
			'ul',
			{ class: 'bars', 'aria-labelledby': 'score-countries-title' },
			...cBars,
		),
		genders.length
			? el('h3', {
					class: 'chart-title',
					id: 'score-genders-title',
					text: 'Gender',
				})
			: null,
		genders.length
			? el(
					'ul',
					{
						class: 'bars',
						'aria-labelledby': 'score-genders-title',
					},
					...gBars,
				)
			: null,
	);
}

// score asks the model about one name and draws the answer.
export async function score(name) {
	const input = $('score-name');
	const value = (name === undefined ? input.value : name).trim();
	input.value = value;
	fieldError(input, '');
	if (!value) {
		fieldError(input, 'Type a name to score.');
		input.focus();
		return;
	}
	if (running) return;
	running = true;
	const button = $('score-submit');
	setBusy(button, true, 'Scoring…');
	$('score-result').setAttribute('aria-busy', 'true');
	$('score-result').classList.add('stale');
	try {
		render(await api('POST', '/names/score', { name: value }));
	} catch (err) {
		const aboutName = err.status === 400;
		if (aboutName) {
			fieldError(input, err.message);
		} else {
			$('score-result').replaceChildren(
				el('p', {
					class: 'form-error',
					role: 'alert',
					text: err.message,
				}),
			);
		}
	} finally {
		running = false;
		setBusy(button, false);
		$('score-result').removeAttribute('aria-busy');
		$('score-result').classList.remove('stale');
	}
}

export function init() {
	$('score-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		score();
	});
}
