// dialogs.js - the account dialogs (<dialog> elements in index.html):
// opening, required fields, a loading state while the call runs, and the
// API's errors shown under the field they are about.

import { fieldError, setBusy } from './dom.js';

const dialogs = new Map();

// inputsOf lists the fields a person fills in (not the hidden account
// name that password managers read).
function inputsOf(form) {
	return [...form.querySelectorAll('input:not([hidden])')];
}

function labelOf(input) {
	const label = input.id && document.querySelector(`label[for="${input.id}"]`);
	return label ? label.textContent.trim() : input.name;
}

// fieldFor finds the input an API error is about: the error's field when
// the API names one, else the field its message starts with ("email must
// hold one '@'"), else the password for a refused login or a wrong
// current password.
function fieldFor(form, err, credentialField) {
	const inputs = inputsOf(form);
	const msg = err.message.toLowerCase();

	if (err.field) {
		const f = inputs.find((i) => i.name === err.field);
		if (f) return f;
	}
	const sorted = [...inputs].sort((a, b) => b.name.length - a.name.length);
	for (const i of sorted) {
		const n = i.name.toLowerCase();
		if (msg.startsWith(n) || msg.startsWith(n.replace('_', ' '))) return i;
	}
	if (err.code === 'already_exists') {
		const f = inputs.find((i) => msg.includes(i.name));
		if (f) return f;
	}
	if (
		(err.status === 401 || err.status === 403) &&
		msg.includes('password') &&
		credentialField
	)
		return form.elements[credentialField] || null;
	return null;
}

// fieldMessage words an error for the place under its field: the API's
// field name at the start becomes the label people see.
function fieldMessage(input, message) {
	const n = input.name;
	for (const form of [n, n.replace('_', ' ')]) {
		if (message.toLowerCase().startsWith(form))
			return labelOf(input) + message.slice(form.length);
	}
	return message;
}

function clearErrors(form) {
	for (const i of inputsOf(form)) fieldError(i, '');
	const general = form.querySelector('.form-error');
	general.textContent = '';
	general.hidden = true;
}

function showError(form, err, credentialField) {
	const input = fieldFor(form, err, credentialField);
	if (input) {
		fieldError(input, fieldMessage(input, err.message));
		input.focus();
		return;
	}
	const general = form.querySelector('.form-error');
	general.textContent = err.message;
	general.hidden = false;
}

// setupDialog wires one dialog. spec: onSubmit(values) -> promise (the
// dialog closes when it resolves), busyText for the submit button,
// credentialField (the input a refused password belongs under), and
// onClose(submitted) after it closes either way.
export function setupDialog(id, spec) {
	const dialog = document.getElementById(id);
	const form = dialog.querySelector('form');
	const submit = form.querySelector('button[type="submit"]');
	const note = form.querySelector('.dialog-note');
	const defaultNote = note && !note.hidden ? note.textContent : '';
	let submitted = false;
	let running = false;

	const d = {
		open(opts = {}) {
			form.reset();
			clearErrors(form);
			submitted = false;
			if (note) {
				const text = opts.note || defaultNote;
				note.textContent = text;
				note.hidden = !text;
			}
			const account = form.querySelector('.pm-username');
			if (account) account.value = opts.account || '';
			for (const [name, value] of Object.entries(opts.values || {})) {
				if (form.elements[name])
					form.elements[name].value = value;
			}
			if (!dialog.open) dialog.showModal();
			const first = inputsOf(form).find((i) => !i.value);
			(first || inputsOf(form)[0]).focus();
		},
		close() {
			if (dialog.open) dialog.close();
		},
		values() {
			return Object.fromEntries(
				inputsOf(form).map((i) => [i.name, i.value]),
			);
		},
		get element() {
			return dialog;
		},
	};

	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (running) return;
		clearErrors(form);
		const values = d.values();
		const missing = inputsOf(form).filter(
			(i) => i.required && !i.value.trim(),
		);
		if (missing.length) {
			for (const i of missing)
				fieldError(i, `${labelOf(i)} is required.`);
			missing[0].focus();
			return;
		}
		running = true;
		setBusy(submit, true, spec.busyText);
		try {
			await spec.onSubmit(values);
			submitted = true;
			d.close();
		} catch (err) {
			if (!(err && err.message)) throw err;
			showError(form, err, spec.credentialField);
		} finally {
			running = false;
			setBusy(submit, false);
		}
	});
	form.querySelector('[data-cancel]').addEventListener('click', () => d.close());
	dialog.addEventListener('close', () => {
		if (spec.onClose) spec.onClose(submitted);
		// The browser gives focus back to what opened the dialog; when
		// that is gone (the login button once logged in), the keyboard
		// would be lost at the top of the page.
		setTimeout(() => {
			const a = document.activeElement;
			if (
				spec.focusAfter &&
				(!a || a === document.body || a.closest('[hidden]'))
			)
				spec.focusAfter();
		}, 0);
	});
	const sw = form.querySelector('[data-switch]');
	if (sw) {
		sw.addEventListener('click', () => {
			const other = dialogs.get(sw.dataset.switch);
			const email = form.elements.email
				? form.elements.email.value
				: '';
			const keepNote = note && !note.hidden ? note.textContent : '';
			// the switch is not a cancel: a pending like stays pending
			submitted = true;
			d.close();
			other.open({ values: email ? { email } : {}, note: keepNote });
		});
	}
	dialogs.set(id, d);
	return d;
}
