// Runs the login page's script (web/static/login.js) the way a browser
// would, without a browser: the page comes from fido2gate-web, its
// requests go to fido2gate-web (fetch), and only the DOM and the
// authenticator (navigator.credentials.get) are stand-ins. The browser
// tests with a real WebAuthn authenticator come later; this one proves
// the script's own logic: what it sends, what it shows, where it goes.
//
//   node login_page.js PAGE_URL SCENARIO [USER]
//
// SCENARIO: "sign" (the key answers with a signature the stand-in agent
// accepts), "wrong" (one it refuses), "NotAllowedError" or another error
// name (the key fails that way), "expire" (the page's transaction runs
// out before the user acts). Prints one JSON line: where the page went,
// what it showed, which requests it made.
"use strict";

const fs = require("fs");
const path = require("path");
const vm = require("vm");

const [pageUrl, scenario, userName = "alice"] = process.argv.slice(2);
const realFetch = globalThis.fetch;
const result = { assigned: null, status: "", error: "", requests: [],
	focus: null, options: null, lang: null };
const timers = [];

function unescapeHtml(s) {
	return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'")
		.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function element(id) {
	const listeners = {};
	return {
		id, value: "", textContent: "", disabled: true, attrs: {},
		getAttribute(name) { return this.attrs[name] ?? null; },
		setAttribute(name, v) { this.attrs[name] = String(v); },
		addEventListener(type, fn) { listeners[type] = fn; },
		dispatch(type, ev) { return listeners[type](ev); },
		focus() { result.focus = id; },
		select() {},
	};
}

async function main() {
	const page = await (await realFetch(pageUrl)).text();
	const data = /data-page="([^"]*)"/.exec(page);
	result.lang = (/<html lang="([a-z]+)">/.exec(page) || [])[1];
	const els = {};
	for (const id of ["login", "form", "user", "go", "status", "error"])
		els[id] = element(id);
	if (page.includes('id="password"'))
		els.password = element("password");
	els.login.attrs["data-page"] = unescapeHtml(data[1]);
	els.user.value = userName;
	if (els.password)
		els.password.value = "hunter2-pass";

	// the page's own globals, in a context of their own (node's timers
	// and fetch stay untouched outside it)
	const bytes = (str) => new TextEncoder().encode(str).buffer;
	const sandbox = {
		document: { getElementById: (id) => els[id] || null },
		PublicKeyCredential: function () {},
		location: { assign(u) { result.assigned = u; } },
		setTimeout: (fn) => { timers.push(fn); return timers.length; },
		atob, btoa, console,
		fetch: (p, init) => {
			result.requests.push(p + " " + init.body);
			const { cache, ...rest } = init; // undici has no HTTP cache
			return realFetch(new URL(p, pageUrl), rest);
		},
		navigator: { credentials: { async get(options) {
			const pk = options.publicKey;
			result.options = {
				challenge: ArrayBuffer.isView(pk.challenge) ? pk.challenge.length : -1,
				rpId: pk.rpId, userVerification: pk.userVerification,
				timeout: pk.timeout, allow: pk.allowCredentials.length,
				type: pk.allowCredentials[0].type,
			};
			if (scenario !== "sign" && scenario !== "wrong") {
				const e = new Error("the key failed");
				e.name = scenario;
				throw e;
			}
			return {
				rawId: pk.allowCredentials[0].id.buffer,
				response: {
					authenticatorData: new Uint8Array(37).buffer,
					clientDataJSON: bytes('{"type":"webauthn.get"}'),
					signature: bytes(scenario === "sign" ? "good" : "bad"),
				},
			};
		} } },
	};
	sandbox.window = sandbox;
	vm.createContext(sandbox);
	vm.runInContext(fs.readFileSync(path.join(__dirname,
		"../../web/static/login.js"), "utf8"), sandbox);
	if (els.go.disabled)
		throw new Error("the script did not enable the button");
	if (scenario === "expire") {
		timers.forEach((fn) => fn());
	} else {
		els.form.dispatch("submit", { preventDefault() {} });
	}
	// the verdict: the page went somewhere, or showed an error
	for (let i = 0; i < 600 && !result.assigned && !els.error.textContent; i++)
		await new Promise((r) => setTimeout(r, 50));
	result.status = els.status.textContent;
	result.error = els.error.textContent;
	result.disabled = els.go.disabled;
	console.log(JSON.stringify(result));
}

main().catch((e) => {
	console.log(JSON.stringify({ crash: String(e && e.stack || e) }));
	process.exit(1);
});
