// main.js - the page: loads what the model knows, restores the session,
// and wires the generator, the score view, the favorites and the account
// dialogs together.

import { api } from './api.js';
import { setBusy } from './dom.js';
import { countryListError, countryListLoading, setCountries } from './countries.js';
import { setupDialog } from './dialogs.js';
import * as favorites from './favorites.js';
import * as generate from './generate.js';
import * as score from './score.js';
import * as session from './session.js';

const $ = (id) => document.getElementById(id);

let pending = null; // a like waiting for a login: {name, country, gender}

// notice shows a message about the last thing that happened (or, empty,
// takes it away).
function notice(text) {
	$('notice-text').textContent = text || '';
	$('notice').hidden = !text;
}

// visitorRegion guesses a country to start with from the browser's
// language ("en-GB" -> GB).
function visitorRegion() {
	for (const tag of navigator.languages || [navigator.language || '']) {
		const m = /^[a-z]{2,3}-([A-Z]{2})\b/.exec(tag || '');
		if (m) return m[1];
	}
	return '';
}

function showModel(meta) {
	const parts = ['namegen'];
	if (meta.model_version) parts.push(`model ${meta.model_version}`);
	if (Number.isFinite(meta.parameters))
		parts.push(`${meta.parameters.toLocaleString('en')} parameters`);
	if (Array.isArray(meta.countries))
		parts.push(`${meta.countries.length} countries`);
	if (Number.isFinite(meta.heldout_loss))
		parts.push(
			`held-out loss ${meta.heldout_loss.toFixed(2)} nats per character`,
		);
	$('model-info').textContent = parts.join(' · ');
}

function showUser(user) {
	$('account-in').hidden = !user;
	$('account-out').hidden = Boolean(user);
	$('whoami-name').textContent = user ? user.username || user.email : '';
	const avatar = document.querySelector('#btn-account .avatar');
	avatar.textContent = user
		? (user.username || user.email || '?').slice(0, 1).toUpperCase()
		: '';
	document.body.classList.toggle('logged-in', Boolean(user));
	accountMenu(false);
}

// accountMenu opens or closes the logged-in user's actions (a
// disclosure: a button that shows a short list of buttons).
function accountMenu(open, focusToggle = false) {
	$('account-actions').hidden = !open;
	$('btn-account').setAttribute('aria-expanded', open ? 'true' : 'false');
	if (open) $('account-actions').querySelector('button').focus();
	else if (focusToggle) $('btn-account').focus();
}

function setupAccountMenu() {
	$('btn-account').addEventListener('click', () =>
		accountMenu($('account-actions').hidden),
	);
	$('account-in').addEventListener('keydown', (ev) => {
		if (ev.key === 'Escape' && !$('account-actions').hidden) {
			ev.preventDefault();
			accountMenu(false, true);
		}
	});
	document.addEventListener('click', (ev) => {
		if (!$('account-in').contains(ev.target)) accountMenu(false);
	});
	$('account-actions').addEventListener('focusout', (ev) => {
		if (ev.relatedTarget && !$('account-in').contains(ev.relatedTarget))
			accountMenu(false);
	});
	for (const b of $('account-actions').querySelectorAll('button'))
		b.addEventListener('click', () => accountMenu(false));
}

// keepPending saves the like that was waiting for a login.
async function keepPending() {
	const f = pending;
	pending = null;
	if (!f) return;
	try {
		await favorites.like(f);
		notice(`“${f.name}” is in your favorites.`);
	} catch (err) {
		notice(err.message);
	}
}

async function onHeart(f, button) {
	if (!session.currentUser()) {
		pending = f;
		const note =
			`Log in or create an account to keep “${f.name}”: ` +
			'it goes straight to your favorites.';
		dialogs.login.open({ note });
		return;
	}
	const on = favorites.isLiked(f);
	setBusy(button, true);
	try {
		if (on) await favorites.unlike(f);
		else await favorites.like(f);
	} catch (err) {
		notice(err.message);
		if (err.status === 401) {
			pending = on ? null : f;
			dialogs.login.open({
				note: 'Your session has ended. Log in again.',
			});
		}
	} finally {
		setBusy(button, false);
		generate.refreshHearts();
	}
}

function onWhy(name) {
	score.score(name);
	const title = $('score-title');
	title.scrollIntoView({ block: 'nearest' });
	title.focus({ preventScroll: true });
}

const dialogs = {};

// focusAccount puts the keyboard on the account control that is shown.
function focusAccount() {
	$(session.currentUser() ? 'btn-account' : 'btn-login').focus();
}

function setupDialogs() {
	const dropPending = (kept) => {
		if (!kept) pending = null;
	};
	dialogs.login = setupDialog('dlg-login', {
		busyText: 'Logging in…',
		credentialField: 'password',
		onSubmit: async (v) => {
			await session.login(v.email.trim(), v.password);
			notice('');
			await keepPending();
		},
		onClose: dropPending,
		focusAfter: focusAccount,
	});
	dialogs.register = setupDialog('dlg-register', {
		busyText: 'Creating…',
		onSubmit: async (v) => {
			const email = v.email.trim();
			await session.register(v.username.trim(), email, v.password);
			try {
				await session.login(email, v.password);
			} catch (err) {
				// the account exists: a retry here would say so, so
				// the login dialog takes over (a pending like stays)
				setTimeout(
					() =>
						dialogs.login.open({
							values: { email },
							note:
								'Your account is ready, but logging ' +
								`in failed: ${err.message}`,
						}),
					0,
				);
				return;
			}
			notice('Welcome! Your account is ready.');
			await keepPending();
		},
		onClose: dropPending,
		focusAfter: focusAccount,
	});
	dialogs.password = setupDialog('dlg-password', {
		busyText: 'Changing…',
		credentialField: 'old_password',
		onSubmit: async (v) => {
			const ended = await session.changePassword(
				v.old_password,
				v.new_password,
			);
			const others = `${ended} other session${ended === 1 ? '' : 's'}`;
			notice(
				ended > 0
					? `Password changed. ${others} ended: other devices log in again.`
					: 'Password changed.',
			);
		},
		focusAfter: focusAccount,
	});
	dialogs.remove = setupDialog('dlg-delete', {
		busyText: 'Deleting…',
		credentialField: 'password',
		onSubmit: async (v) => {
			await session.deleteAccount(v.password);
			notice('Your account and its favorites are deleted.');
		},
		focusAfter: focusAccount,
	});

	$('btn-login').addEventListener('click', () => dialogs.login.open());
	$('btn-register').addEventListener('click', () => dialogs.register.open());
	const account = () => (session.currentUser() || {}).email || '';
	$('btn-password').addEventListener('click', () =>
		dialogs.password.open({ account: account() }),
	);
	$('btn-delete').addEventListener('click', () =>
		dialogs.remove.open({ account: account() }),
	);
	$('btn-logout').addEventListener('click', async () => {
		const b = $('btn-logout');
		setBusy(b, true);
		try {
			await session.logout();
			notice('You are logged out.');
			$('btn-login').focus();
		} catch (err) {
			notice(err.message);
		} finally {
			setBusy(b, false);
		}
	});
}

async function loadMeta() {
	countryListLoading();
	try {
		const meta = await api('GET', '/meta');
		setCountries(
			Array.isArray(meta.countries) ? meta.countries : [],
			visitorRegion(),
		);
		generate.init({ isLiked: favorites.isLiked, onHeart, onWhy }, meta);
		showModel(meta);
		document.body.dataset.ready = 'true';
	} catch (err) {
		countryListError(
			`The list of countries did not load. ${err.message}`,
			loadMeta,
		);
	}
}

async function start() {
	// Until the countries are in, Generate has nothing to ask for.
	$('gen-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		if (document.body.dataset.ready !== 'true') {
			$('gen-error').textContent = 'The countries are not loaded yet.';
			$('gen-error').hidden = false;
		}
	});
	$('notice-close').addEventListener('click', () => notice(''));
	favorites.init();
	score.init();
	setupDialogs();
	setupAccountMenu();
	favorites.onLikedChange(generate.refreshHearts);
	session.onChange((user) => {
		showUser(user);
		if (user) {
			favorites.load(false);
			favorites.primeLiked();
		} else favorites.clear();
	});
	const meta = loadMeta();
	try {
		await session.restore();
	} catch (err) {
		notice(`Could not check who is logged in. ${err.message}`);
	}
	await meta;
}

start();
