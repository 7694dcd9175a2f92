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
	var MESSAGES = {
		en: {
			working: "Checking…",
			touch: "Touch your security key now (plug it in first if it is not).",
			finishing: "Checking your key…",
			done: "Signed in. Going back to the application…",
			need_user: "Enter your Matrix user name.",
			need_password: "Enter your password.",
			bad_user: "This is not a user name of this homeserver. Enter your Matrix user name, such as alice or @alice:example.org.",
			no_webauthn: "This browser cannot use security keys. Use an up-to-date Firefox, Chrome, Edge or Safari.",
			no_key: "No security key is enrolled for this account. Ask your administrator to enrol yours.",
			wrong_key: "This key is not the one enrolled for this account. Use your own key; if it is yours, ask your administrator.",
			not_allowed: "The key was not touched in time, or it is not enrolled for this account, or the request was cancelled. Try again; if it keeps happening, ask your administrator.",
			no_touch: "The key did not confirm that you were there (no touch). Touch your key when it blinks, then try again.",
			no_user_verification: "Your key must also check that it is you (its PIN or fingerprint). Set a PIN on your key and try again, or ask your administrator.",
			locked: "This account is locked after too many failed attempts. Ask your administrator to unlock it.",
			rate_limited: "Too many failed attempts. Wait {n} seconds, then try again.",
			rate_limited_later: "Too many failed attempts. Wait a moment, then try again.",
			too_many_requests: "Too many sign-in requests from your network. Wait {n} seconds, then try again.",
			too_many_requests_later: "Too many sign-in requests from your network. Wait a minute, then try again.",
			expired: "This sign-in request has expired. Go back to the application and start again.",
			denied: "Sign-in refused. Check your user name and password, then try again.",
			unavailable: "The sign-in service is unavailable. Try again in a few minutes; if it lasts, tell your administrator.",
			network: "The sign-in service cannot be reached. Check your connection and try again.",
			bad_request: "The sign-in service refused the request. Reload the page and try again.",
			forbidden: "This page was not opened from the sign-in site. Go back to the application and start again.",
			security: "Your browser refused to use a security key on this site. Tell your administrator.",
			browser: "Your browser could not use the key ({name}). Try again, or use another browser."
		},
		fr: {
			working: "Vérification…",
			touch: "Touchez maintenant votre clé de sécurité (branchez-la d’abord si ce n’est pas fait).",
			finishing: "Vérification de votre clé…",
			done: "Connexion réussie. Retour à l’application…",
			need_user: "Saisissez votre nom d’utilisateur Matrix.",
			need_password: "Saisissez votre mot de passe.",
			bad_user: "Ce n’est pas un nom d’utilisateur de ce serveur. Saisissez votre nom d’utilisateur Matrix, par exemple alice ou @alice:example.org.",
			no_webauthn: "Ce navigateur ne sait pas utiliser les clés de sécurité. Utilisez un Firefox, Chrome, Edge ou Safari à jour.",
			no_key: "Aucune clé de sécurité n’est enregistrée pour ce compte. Demandez à votre administrateur d’enregistrer la vôtre.",
			wrong_key: "Cette clé n’est pas celle enregistrée pour ce compte. Utilisez votre propre clé ; si c’est bien la vôtre, contactez votre administrateur.",
			no_touch: "La clé n’a pas confirmé votre présence (pas de toucher). Touchez votre clé quand elle clignote, puis réessayez.",
			not_allowed: "La clé n’a pas été touchée à temps, ou elle n’est pas enregistrée pour ce compte, ou la demande a été annulée. Réessayez ; si cela se reproduit, contactez votre administrateur.",
			no_user_verification: "Votre clé doit aussi vérifier que c’est bien vous (son code PIN ou votre empreinte). Définissez un code PIN sur votre clé et réessayez, ou contactez votre administrateur.",
			locked: "Ce compte est bloqué après trop de tentatives échouées. Demandez à votre administrateur de le débloquer.",
			rate_limited: "Trop de tentatives échouées. Attendez {n} secondes, puis réessayez.",
			rate_limited_later: "Trop de tentatives échouées. Attendez un moment, puis réessayez.",
			too_many_requests: "Trop de demandes de connexion depuis votre réseau. Attendez {n} secondes, puis réessayez.",
			too_many_requests_later: "Trop de demandes de connexion depuis votre réseau. Attendez une minute, puis réessayez.",
			expired: "Cette demande de connexion a expiré. Revenez à l’application et recommencez.",
			denied: "Connexion refusée. Vérifiez votre nom d’utilisateur et votre mot de passe, puis réessayez.",
			unavailable: "Le service de connexion est indisponible. Réessayez dans quelques minutes ; si cela dure, prévenez votre administrateur.",
			network: "Le service de connexion est injoignable. Vérifiez votre connexion et réessayez.",
			bad_request: "Le service de connexion a refusé la demande. Rechargez la page et réessayez.",
			forbidden: "Cette page n’a pas été ouverte depuis le site de connexion. Revenez à l’application et recommencez.",
			security: "Votre navigateur refuse d’utiliser une clé de sécurité sur ce site. Prévenez votre administrateur.",
			browser: "Votre navigateur n’a pas pu utiliser la clé ({name}). Réessayez, ou utilisez un autre navigateur."
		}
	};

	var root = document.getElementById("login");
	var page;
	try {
		page = JSON.parse(root.getAttribute("data-page"));
	} catch (e) {
		return;
	}
	var M = MESSAGES[page.lang] || MESSAGES.en;
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

	/* code: one of MESSAGES' keys (the server's "error" codes among
	 * them); anything else reads as a refusal */
	function fail(code, detail, field) {
		var text = M[code] || M.denied;
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
