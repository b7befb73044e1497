// api.js - the page's only way to the server: JSON calls to /api/v1 on
// the page's own origin. A failed call throws an ApiError whose message
// can be shown to a person as it is.

const BASE = '/api/v1';
const TIMEOUT_MS = 30000; // the gateway answers 504 well before this
const REPLY_MAX = 1 << 20; // bytes of one reply the page agrees to parse

export class ApiError extends Error {
	// status: HTTP status, 0 when no answer came; code: the API's error
	// code (or "network", "timeout", "bad_reply"); field: the request
	// field the error is about, when known; retryAfter: seconds, on 429.
	constructor(status, code, message, field = '', retryAfter = 0) {
		super(message);
		this.name = 'ApiError';
		this.status = status;
		this.code = code;
		this.field = field;
		this.retryAfter = retryAfter;
	}
}

// sentence makes an API message read as a sentence: capital, full stop.
function sentence(text) {
	const s = String(text || '').trim();
	if (!s) return '';
	const first = s[0].toUpperCase() + s.slice(1);
	return /[.!?]$/.test(first) ? first : first + '.';
}

// statusMessage is what a person reads for a failed call: the states
// that are the service's and not the person's get words of their own.
function statusMessage(status, apiMessage, retryAfter) {
	switch (status) {
		case 429: {
			const wait =
				retryAfter > 0
					? `${retryAfter} second${retryAfter === 1 ? '' : 's'}`
					: 'a moment';
			return `Too many requests. Please wait ${wait} and try again.`;
		}
		case 503:
			return (
				'namegen is unavailable right now (a part of the service ' +
				'is not answering). Please try again in a moment.'
			);
		case 504:
			return 'namegen took too long to answer. Please try again.';
		default:
			if (apiMessage) return sentence(apiMessage);
			if (status >= 500)
				return `The server had a problem (HTTP ${status}). Please try again.`;
			return `The request was refused (HTTP ${status}).`;
	}
}

function parseRetryAfter(value) {
	const n = Number.parseInt(value || '', 10);
	return Number.isFinite(n) && n > 0 && n < 86400 ? n : 0;
}

// api sends one call and returns the parsed JSON reply (null for 204).
// body, when given, is sent as JSON. Throws ApiError.
export async function api(method, path, body) {
	const ctl = new AbortController();
	const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
	const init = {
		method,
		headers: { Accept: 'application/json' },
		credentials: 'same-origin',
		cache: 'no-store',
		signal: ctl.signal,
	};
	if (body !== undefined) {
		init.headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}

	let res;
	let text;
	try {
		res = await fetch(BASE + path, init);
		text = await res.text();
	} catch (e) {
		if (e && e.name === 'AbortError')
			throw new ApiError(
				0,
				'timeout',
				'namegen took too long to answer. Please try again.',
			);
		throw new ApiError(
			0,
			'network',
			'Cannot reach namegen. Check the connection and try again.',
		);
	} finally {
		clearTimeout(timer);
	}

	let data = null;
	if (text && text.length <= REPLY_MAX) {
		try {
			data = JSON.parse(text);
		} catch {
			data = null;
		}
	}
	if (!res.ok) {
		const err =
			data && typeof data.error === 'object' && data.error
				? data.error
				: {};
		const retry = parseRetryAfter(res.headers.get('Retry-After'));
		const msg = typeof err.message === 'string' ? err.message : '';
		throw new ApiError(
			res.status,
			typeof err.code === 'string' ? err.code : `http_${res.status}`,
			statusMessage(res.status, msg, retry),
			typeof err.field === 'string' ? err.field : '',
			retry,
		);
	}
	if (res.status === 204) return null;
	if (data === null || typeof data !== 'object')
		throw new ApiError(
			res.status,
			'bad_reply',
			'The server sent a reply the page cannot read. Please try again.',
		);
	return data;
}
