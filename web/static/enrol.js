/*
 * fido2gate's enrolment page, opened from an invitation link
 * (fido2gatectl invite): the password when the page asks for one, then a
 * new security key through navigator.credentials.create(). The key waits
 * for an administrator's confirmation; the page says so, with the request
 * to name. After the organisation's provider (first_factor "provider")
 * the user is the one it named. The page's data is JSON in main#enrol's
 * data-page attribute; nothing the server, the browser or the user sent
 * is ever written as HTML (textContent only). docs/admin-guide.md
 * describes the flow.
 */
"use strict";

(function () {
	var root = document.getElementById("enrol");
	var page;
	try {
		page = JSON.parse(root.getAttribute("data-page"));
	} catch (e) {
		return;
	}
	var M = page.messages || {};
	var base = typeof page.root === "string" && /^(\.\.\/)*$/.test(page.root) ? page.root : "";
	var form = document.getElementById("form");
	var password = document.getElementById("password");
	var go = document.getElementById("go");
	var statusLine = document.getElementById("status");
	var errorLine = document.getElementById("error");
	var busy = false;
	var over = false; /* expired, or the key is registered */

	function say(text) {
		statusLine.textContent = text;
	}

	function setBusy(on) {
		busy = on;
		go.disabled = on || over;
		form.setAttribute("aria-busy", on ? "true" : "false");
	}

	function fail(code, detail) {
		var text = Object.prototype.hasOwnProperty.call(M, code) ? M[code] : M.enrol_refused;
		if (code === "rate_limited") {
			var n = detail && Number(detail.retry_after);
			text = n > 0 ? M.rate_limited.replace("{n}", String(n)) : M.rate_limited_later;
		}
		if (code === "browser")
			text = M.browser.replace("{name}", (detail && detail.name) || "Error");
		if (code === "enrol_expired" || code === "locked")
			over = true;
		say("");
		errorLine.textContent = text;
		setBusy(false);
		(password && code === "wrong_password" ? password : go).focus();
		if (password && code === "wrong_password")
			password.select();
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
		if (name === "InvalidStateError")
			return "enrol_already";
		if (name === "NotAllowedError" || name === "AbortError")
			return "enrol_not_allowed";
		if (name === "SecurityError")
			return "security";
		if (name === "NotSupportedError")
			return "no_webauthn";
		return "browser";
	}

	async function enrol() {
		if (password && password.value === "")
			return fail("need_password");
		if (!window.PublicKeyCredential || !navigator.credentials)
			return fail("no_webauthn");
		setBusy(true);
		say(M.working);
		var body = { tx: page.tx };
		if (password)
			body.password = password.value;
		var begin = await post("invite/begin", body);
		body = null;
		if (begin.status !== 200 || typeof begin.json.challenge !== "string")
			return fail(begin.json.error, begin.json);
		var b = begin.json;
		var options;
		try {
			options = {
				publicKey: {
					rp: { id: b.rp_id, name: b.rp_name },
					user: { id: fromB64u(b.user_handle), name: b.user, displayName: b.user },
					challenge: fromB64u(b.challenge),
					pubKeyCredParams: b.algorithms.map(function (alg) {
						return { type: "public-key", alg: alg };
					}),
					excludeCredentials: b.exclude_credentials.map(function (id) {
						return { type: "public-key", id: fromB64u(id) };
					}),
					/* a security key of its own, not the computer's */
					authenticatorSelection: {
						authenticatorAttachment: "cross-platform",
						residentKey: "discouraged",
						requireResidentKey: false,
						userVerification: b.uv
					},
					attestation: b.attestation,
					timeout: Math.max(5, b.timeout - 5) * 1000
				}
			};
		} catch (e) {
			return fail("unavailable");
		}
		say(M.enrol_touch);
		var cred;
		try {
			cred = await navigator.credentials.create(options);
			if (!cred)
				throw { name: "NotAllowedError" };
		} catch (e) {
			var why = e && typeof e.name === "string" ? e.name.replace(/[^A-Za-z]/g, "").slice(0, 64) : "";
			return fail(browserError(why), { name: why || "Error" });
		}
		say(M.enrol_finishing);
		var finish = await post("invite/finish", {
			tx: page.tx,
			session: b.session,
			attestation_object: toB64u(cred.response.attestationObject),
			client_data_json: toB64u(cred.response.clientDataJSON)
		});
		if (finish.status === 200 && finish.json.pending === true) {
			over = true;
			setBusy(false);
			say("");
			errorLine.textContent = "";
			var done = document.createElement("p");
			done.id = "done";
			done.className = "status";
			done.textContent = M.enrol_done.replace("{request}", String(finish.json.request || ""));
			form.replaceWith(done);
			done.setAttribute("tabindex", "-1");
			done.focus();
			return;
		}
		fail(finish.json.error, finish.json);
	}

	form.addEventListener("submit", function (ev) {
		ev.preventDefault();
		if (busy || over)
			return;
		errorLine.textContent = "";
		enrol().catch(function () {
			fail("unavailable");
		});
	});

	if (page.expires_in > 0) {
		setTimeout(function () {
			if (!busy)
				fail("enrol_expired");
			over = true;
		}, page.expires_in * 1000);
	}
	/* the link's token stays out of the history */
	if (window.history && history.replaceState)
		history.replaceState(null, "", base + "enrol/");
	setBusy(false);
	(password || go).focus();
})();
