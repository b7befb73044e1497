// dom.js - small DOM helpers. Text from the server only ever enters the
// page as text (textContent), never as markup.

// el makes an element: attrs are set as attributes, except "text"
// (textContent), "class" and "on<event>" (listeners); children are
// nodes or strings.
export function el(tag, attrs = {}, ...children) {
	const node = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false) continue;
		if (k === 'text') node.textContent = v;
		else if (k === 'class') node.className = v;
		else if (k.startsWith('on') && typeof v === 'function')
			node.addEventListener(k.slice(2), v);
		else node.setAttribute(k, v === true ? '' : String(v));
	}
	for (const c of children) {
		if (c !== null && c !== undefined && c !== false) node.append(c);
	}
	return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

// heartIcon returns the heart drawn in the like buttons.
export function heartIcon() {
	const svg = document.createElementNS(SVG_NS, 'svg');
	svg.setAttribute('viewBox', '0 0 24 24');
	svg.setAttribute('aria-hidden', 'true');
	svg.setAttribute('focusable', 'false');
	svg.classList.add('heart-icon');
	const path = document.createElementNS(SVG_NS, 'path');
	path.setAttribute(
		'd',
		'M12 20.5s-7.5-4.6-9.3-9.2C1.4 8 3.4 4.5 6.9 4.5c2.1 0 3.6 1.1 5.1 3 1.5-1.9 3-3 5.1-3 3.5 0 5.5 3.5 4.2 6.8-1.8 4.6-9.3 9.2-9.3 9.2z',
	);
	svg.append(path);
	return svg;
}

// setBusy shows a button's loading state; it stays focusable for screen
// readers but cannot be pressed twice.
export function setBusy(button, busy, busyText) {
	if (!button) return;
	const text = button.querySelector('.button-text');
	if (busy) {
		if (text && busyText) {
			button.dataset.idleText = text.textContent;
			text.textContent = busyText;
		}
		button.setAttribute('aria-busy', 'true');
		button.disabled = true;
	} else {
		if (text && button.dataset.idleText) {
			text.textContent = button.dataset.idleText;
			delete button.dataset.idleText;
		}
		button.removeAttribute('aria-busy');
		button.disabled = false;
	}
}

// fieldError shows (or, with an empty message, clears) the error under
// one input, and marks the input invalid for assistive technology.
export function fieldError(input, message) {
	if (!input) return;
	const box = document.getElementById(`${input.id}-error`);
	if (box) box.textContent = message || '';
	if (message) input.setAttribute('aria-invalid', 'true');
	else input.removeAttribute('aria-invalid');
}

const numberFormat = new Intl.NumberFormat('en');
export function formatCount(n) {
	return numberFormat.format(n);
}

// oneIn turns a log-probability into "1 in 2,400" with two significant
// digits, the way people read odds.
export function oneIn(logProb) {
	if (!Number.isFinite(logProb) || logProb > 0) return '';
	const n = Math.exp(-logProb);
	if (n < 1.5) return 'almost certain';
	if (n > 1e12) return 'less than 1 in a trillion';
	const digits = Math.max(0, Math.floor(Math.log10(n)) - 1);
	const rounded = Math.round(n / 10 ** digits) * 10 ** digits;
	return `1 in ${numberFormat.format(rounded)}`;
}

export function percent(p) {
	const v = Math.max(0, Math.min(1, Number(p) || 0)) * 100;
	return v >= 10 || v === 0 ? `${Math.round(v)}%` : `${v.toFixed(1)}%`;
}

const dateFormat = new Intl.DateTimeFormat('en', {
	day: 'numeric',
	month: 'short',
	year: 'numeric',
});
export function formatDate(iso) {
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? '' : dateFormat.format(d);
}
