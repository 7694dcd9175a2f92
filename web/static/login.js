/*
 * fido2gate's login page: the Matrix user name (and the password when the
 * page asks for one), then the security key through WebAuthn, then back to
 * the application. After the organisation's provider (first_factor
 * "provider") the user is the one it named: shown, never typed. The
 * page's data is JSON in main#login's data-page attribute; nothing here
 * is inline in the page, and nothing the server, the browser or the user
 * sent is ever written as HTML (textContent only).
 * docs/oidc.md describes the requests.
 */
"use strict";

(function () {
	var root = document.getElementById("login");
	var page;
	try {
		page = JSON.parse(root.getAttribute("data-page"));
	} catch (e) {
		return;
	}
	/* the texts, in the page's language: the front puts them in the
	 * page's data (its catalog, po/) */
	var M = page.messages || {};
	/* the front's root, relative to this page (it may sit below it) */
	var base = typeof page.root === "string" && /^(\.\.\/)*$/.test(page.root) ? page.root : "";
	var named = page.first_factor === "provider" ? String(page.user || "") : null;
	var form = document.getElementById("form");
	var user = document.getElementById("user");
	var password = document.getElementById("password");
	var go = document.getElementById("go");
	var statusLine = document.getElementById("status");
	var errorLine = document.getElementById("error");
	var busy = false;
	var expired = false;

	function say(text) {
		statusLine.textContent = text;
	}

	function setBusy(on) {
		busy = on;
		go.disabled = on || expired;
		form.setAttribute("aria-busy", on ? "true" : "false");
	}

	/* code: one of the messages' keys (the server's "error" codes
	 * among them); anything else reads as a refusal */
	function fail(code, detail, field) {
		var text = Object.prototype.hasOwnProperty.call(M, code) ? M[code] : M.denied;
		if (code === "rate_limited" || code === "too_many_requests") {
			var n = detail && Number(detail.retry_after);
			text = n > 0 ? M[code].replace("{n}", String(n)) : M[code + "_later"];
		}
		if (code === "browser")
			text = M.browser.replace("{name}", (detail && detail.name) || "Error");
		if (code === "expired") {
			expired = true;
		}
		say("");
		errorLine.textContent = text;
		setBusy(false);
		(field || (password && code === "denied" ? password : user) || go).focus();
		if (code === "bad_user" && user)
			user.select();
	}

	function fromB64u(s) {
		var b = s.replace(/-/g, "+").replace(/_/g, "/");
		while (b.length % 4)
			b += "=";
		var bin = atob(b);
		var out = new Uint8Array(bin.length);
		for (var i = 0; i < bin.length; i++)
			out[i] = bin.charCodeAt(i);
		return out;
	}

	function toB64u(buf) {
		var bytes = new Uint8Array(buf);
		var bin = "";
		for (var i = 0; i < bytes.length; i++)
			bin += String.fromCharCode(bytes[i]);
		return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
	}

	/* POST JSON to the front (relative: the page may live under a
	 * prefix); resolves to {status, json}, never rejects */
	async function post(path, body) {
		var r;
		try {
			r = await fetch(base + path, {
				method: "POST",
				headers: { "Content-Type": "application/json" },
				body: JSON.stringify(body),
				credentials: "same-origin",
				cache: "no-store",
				redirect: "error"
			});
		} catch (e) {
			return { status: 0, json: { error: "network" } };
		}
		try {
			return { status: r.status, json: await r.json() };
		} catch (e) {
			return { status: r.status, json: { error: r.status >= 500 ? "unavailable" : "bad_request" } };
		}
	}

	function browserError(name) {
		if (name === "NotAllowedError" || name === "AbortError")
			return "not_allowed";
		if (name === "SecurityError")
			return "security";
		if (name === "NotSupportedError")
			return "no_webauthn";
		return "browser";
	}

	async function login() {
		var name = named !== null ? named : user.value.trim();
		if (name === "")
			return fail("need_user", null, user);
		if (password && password.value === "")
			return fail("need_password", null, password);
		if (!window.PublicKeyCredential || !navigator.credentials)
			return fail("no_webauthn");
		setBusy(true);
		say(M.working);
		var body = { tx: page.tx, user: name };
		if (password)
			body.password = password.value;
		var begin = await post("login/begin", body);
		body = null;
		if (begin.status !== 200 || typeof begin.json.challenge !== "string")
			return fail(begin.json.error, begin.json);
		var b = begin.json;
		var options;
		try {
			options = {
				publicKey: {
					challenge: fromB64u(b.challenge),
					rpId: b.rp_id,
					allowCredentials: b.allow_credentials.map(function (id) {
						return { type: "public-key", id: fromB64u(id) };
					}),
					userVerification: b.uv,
					/* give up before the agent's challenge does, so
					 * that the abort still names the session */
					timeout: Math.max(5, b.timeout - 5) * 1000
				}
			};
		} catch (e) {
			return fail("unavailable");
		}
		say(M.touch);
		var cred;
		try {
			cred = await navigator.credentials.get(options);
			if (!cred)
				throw { name: "NotAllowedError" };
		} catch (e) {
			var why = e && typeof e.name === "string" ? e.name.replace(/[^A-Za-z]/g, "").slice(0, 64) : "";
			await post("login/abort", { tx: page.tx, session: b.session, reason: "browser: " + (why || "Error") });
			return fail(browserError(why), { name: why || "Error" });
		}
		say(M.finishing);
		var finish = await post("login/finish", {
			tx: page.tx,
			session: b.session,
			credential_id: toB64u(cred.rawId),
			authenticator_data: toB64u(cred.response.authenticatorData),
			client_data_json: toB64u(cred.response.clientDataJSON),
			signature: toB64u(cred.response.signature)
		});
		if (finish.status === 200 && typeof finish.json.redirect === "string") {
			say(M.done);
			window.location.assign(finish.json.redirect);
			return;
		}
		fail(finish.json.error, finish.json);
	}

	form.addEventListener("submit", function (ev) {
		ev.preventDefault();
		if (busy || expired)
			return;
		errorLine.textContent = "";
		login().catch(function () {
			fail("unavailable");
		});
	});

	if (page.expires_in > 0) {
		setTimeout(function () {
			if (!busy)
				fail("expired");
			expired = true;
		}, page.expires_in * 1000);
	}
	/* the provider's code and state stay out of the history */
	if (named !== null && window.history && history.replaceState)
		history.replaceState(null, "", location.pathname);
	setBusy(false);
	(user || go).focus();
})();
