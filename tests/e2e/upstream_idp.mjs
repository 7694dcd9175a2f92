#!/usr/bin/env node
// The organisation's identity provider for tests/gate/t/46-upstream.t: npm's
// oidc-provider (OpenID Certified), with strict settings of its own: PKCE
// (S256) required of every client, ES256 and RS256 signing keys, client
// secrets, its own login page with a password per user and a cancel
// button (a minimal custom interaction, no devInteractions), acr and amr
// set at login. It serves
// HTTPS on loopback with the certificate the test made.
//
// Where the real provider cannot misbehave on purpose, this process plays
// the hostile provider in front of it, on the same origin: the token
// endpoint's real answer is altered on its way out (its id_token re-signed
// by another key, unsigned, HMAC-signed with the provider's public key,
// its aud, iss, exp or nonce changed and re-signed with the real key, or a
// kid nobody publishes), or not given at all (the endpoint hangs, or
// answers 5 MB of garbage). Key rotation is the real thing: a new
// provider instance whose JWKS lists new keys first, which it then signs
// with.
//
//   node upstream_idp.mjs --port N --control-port N --cert FILE --key FILE
//       --redirect URI [--secret-file FILE] [--ready FILE]
//
// The control port (plain HTTP, 127.0.0.1): POST /mode?token=MODE (pass,
// other_key, alg_none, hs256_pubkey, wrong_aud, wrong_iss, expired,
// wrong_nonce, unknown_kid, hang, garbage; userinfo_other_sub: the
// userinfo, re-signed, about another user); POST /rotate; GET /stats
// ({discovery, jwks, token, id_token_alg, kids}).
//
// As ProConnect does, the user's claims (email...) come from the userinfo
// endpoint, not the id_token: a signed JWT for client fido2gate, plain
// JSON for fido2gate-rs.

import { createHmac, generateKeyPairSync, createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttps } from "node:https";
import { createServer as createHttp } from "node:http";
import { parseArgs } from "node:util";
import Provider from "oidc-provider";

const { values: o } = parseArgs({
  options: {
    port: { type: "string" },
    "control-port": { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    redirect: { type: "string" },
    "secret-file": { type: "string" },
    ready: { type: "string" },
  },
});
const ISSUER = `https://localhost:${o.port}`;
const SECRET = readFileSync(o["secret-file"], "utf8").trim();

// The provider's users: a password each, the claims it gives, the acr of
// their login. Their subs are opaque, as a real provider's are.
const USERS = {
  jean: { sub: "5f3c-jean", password: "jean-password", acr: "eidas1",
    claims: { email: "Jean.Dupont@interieur.test", given_name: "Jean", preferred_username: "jdupont" } },
  carol: { sub: "5f3c-carol", password: "carol-password", acr: "eidas1",
    claims: { email: "carol@interieur.test", given_name: "Carol" } },
  nomail: { sub: "5f3c-nomail", password: "nomail-password", acr: "eidas1",
    claims: { given_name: "Nobody" } },
  plus: { sub: "5f3c-plus", password: "plus-password", acr: "eidas1",
    claims: { email: "jean+tag@interieur.test" } },
  weak: { sub: "5f3c-weak", password: "weak-password", acr: "eidas0",
    claims: { email: "weak@interieur.test" } },
  mallory: { sub: "5f3c-mallory", password: "mallory-password", acr: "eidas1",
    claims: { email: "mallory@interieur.test" } },
};
const BY_SUB = Object.fromEntries(Object.values(USERS).map((u) => [u.sub, u]));

// --- keys -----------------------------------------------------------------
function newKeys(n) {
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  return [
    { ...ec.export({ format: "jwk" }), kid: `es-${n}`, alg: "ES256", use: "sig" },
    { ...rsa.export({ format: "jwk" }), kid: `rs-${n}`, alg: "RS256", use: "sig" },
  ];
}
let generation = 1;
let keys = newKeys(generation); // the signing keys, newest first

// --- the provider -----------------------------------------------------------
function makeProvider() {
  const provider = new Provider(ISSUER, {
    clients: [
      { client_id: "fido2gate", client_secret: SECRET, redirect_uris: [o.redirect],
        grant_types: ["authorization_code"], response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
        id_token_signed_response_alg: "ES256",
        userinfo_signed_response_alg: "ES256" }, // a JWT, as ProConnect's
      { client_id: "fido2gate-rs", client_secret: SECRET, redirect_uris: [o.redirect],
        grant_types: ["authorization_code"], response_types: ["code"],
        token_endpoint_auth_method: "client_secret_post",
        id_token_signed_response_alg: "RS256" },
    ],
    jwks: { keys },
    pkce: { required: () => true },
    acrValues: ["eidas0", "eidas1", "eidas2", "eidas3"],
    claims: {
      acr: null,
      amr: null, // the login's methods, in the id_token (RFC 8176)
      auth_time: null,
      sid: null,
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["given_name", "preferred_username"],
    },
    // the scope's claims at the userinfo endpoint only, not in the
    // id_token (oidc-provider's default, and ProConnect's way)
    conformIdTokenClaims: true,
    features: { devInteractions: { enabled: false }, jwtUserinfo: { enabled: true },
      // amr only when asked for (claims={"id_token":{"amr":...}}), as ProConnect
      claimsParameter: { enabled: true } },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const u = BY_SUB[sub];
      if (!u) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...u.claims, email_verified: "email" in u.claims }) };
    },
    // one first-party client: the grant of the scopes it asks, no consent page
    async loadExistingGrant(ctx) {
      const id = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (id) return ctx.oidc.provider.Grant.find(id);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
  });
  provider.on("server_error", (ctx, e) => process.stderr.write(`upstream_idp: ${e.stack}\n`));
  return provider;
}
let provider = makeProvider();
let handler = provider.callback();

// --- its login page -------------------------------------------------------
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function loginPage(res, uid, error) {
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
  res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Interior ministry sign-in</title></head>
<body><h1>Interior ministry sign-in (the test's provider)</h1>
${error ? `<p id="idp-error">${esc(error)}</p>` : ""}
<form method="post" action="/interaction/${esc(uid)}/login">
<label>Login <input id="login" name="login" autocomplete="username" autofocus></label>
<label>Password <input id="password" name="password" type="password"></label>
<button id="submit" type="submit">Sign in</button>
<button id="cancel" name="cancel" value="1" type="submit" formnovalidate>Cancel</button></form></body></html>`);
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 4096) throw new Error("form too large");
  }
  return new URLSearchParams(body);
}

async function interaction(req, res, url) {
  const m = url.pathname.match(/^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/);
  if (!m) return res.writeHead(404).end();
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== m[1]) return res.writeHead(400).end();
  if (!m[2]) return loginPage(res, details.uid, null);
  const form = await readForm(req);
  // the user gives up: the client hears error=access_denied (RFC 6749
  // §4.1.2.1), as from any provider's cancel button
  if (form.get("cancel"))
    return provider.interactionFinished(req, res,
      { error: "access_denied", error_description: "End-User aborted interaction" },
      { mergeWithLastSubmission: false });
  const u = USERS[form.get("login") || ""];
  if (!u || form.get("password") !== u.password)
    return loginPage(res, details.uid, "Wrong login or password.");
  return provider.interactionFinished(req, res,
    { login: { accountId: u.sub, acr: u.acr, amr: ["pwd"] } },
    { mergeWithLastSubmission: false });
}

// --- the hostile provider, where the real one cannot misbehave ------------
let mode = "pass";
const stats = { discovery: 0, jwks: 0, token: 0, id_token_alg: null };
const hung = [];
const b64 = (x) => Buffer.from(typeof x === "string" ? x : JSON.stringify(x)).toString("base64url");
const unb64 = (s) => JSON.parse(Buffer.from(s, "base64url").toString());

function signJws(header, payload, key) {
  const input = `${b64(header)}.${b64(payload)}`;
  const alg = header.alg;
  const sig = alg === "ES256"
    ? cryptoSign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" })
    : cryptoSign("sha256", Buffer.from(input), key);
  return `${input}.${sig.toString("base64url")}`;
}

function freshKey(alg) {
  return alg === "ES256"
    ? generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey
    : generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
}

function mangle(jwt) {
  const [h, p] = jwt.split(".");
  const header = unb64(h);
  const payload = unb64(p);
  const jwk = keys.find((k) => k.kid === header.kid);
  const real = createPrivateKey({ key: jwk, format: "jwk" });
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case "other_key": // the same kid, another key
      return signJws(header, payload, freshKey(header.alg));
    case "alg_none":
      return `${b64({ ...header, alg: "none" })}.${b64(payload)}.`;
    case "hs256_pubkey": { // the provider's public key (PEM) as the HMAC secret
      const pem = createPublicKey(real).export({ type: "spki", format: "pem" });
      const input = `${b64({ ...header, alg: "HS256" })}.${b64(payload)}`;
      return `${input}.${createHmac("sha256", pem).update(input).digest("base64url")}`;
    }
    case "wrong_aud":
      return signJws(header, { ...payload, aud: "another-client" }, real);
    case "wrong_iss":
      return signJws(header, { ...payload, iss: "https://evil.example" }, real);
    case "expired":
      return signJws(header, { ...payload, iat: now - 900, exp: now - 600 }, real);
    case "wrong_nonce":
      return signJws(header, { ...payload, nonce: randomBytes(32).toString("base64url") }, real);
    case "unknown_kid":
      return signJws({ ...header, kid: "never-published" }, payload, freshKey(header.alg));
    case "userinfo_other_sub": // a signed userinfo about someone else
      return signJws(header, { ...payload, sub: USERS.carol.sub }, real);
    default:
      return jwt;
  }
}

// the userinfo endpoint's real answer, about another user
function tamperUserinfo(res) {
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    let body = chunk ? Buffer.from(chunk).toString() : "";
    try {
      if (/^application\/jwt/.test(String(res.getHeader("content-type") || ""))) body = mangle(body.trim());
      else body = JSON.stringify({ ...JSON.parse(body), sub: USERS.carol.sub });
    } catch (e) {
      process.stderr.write(`upstream_idp: tamper userinfo: ${e.stack || e}\n`);
    }
    if (!res.headersSent) res.setHeader("Content-Length", Buffer.byteLength(body));
    return end(body, ...rest.filter((x) => typeof x === "function"));
  };
}

// the token endpoint's real answer, altered on its way out (or, passed,
// only looked at)
function tamper(res) {
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    let body = chunk ? Buffer.from(chunk).toString() : "";
    try {
      const j = JSON.parse(body);
      if (typeof j.id_token === "string") {
        if (mode !== "pass" && mode !== "userinfo_other_sub") {
          j.id_token = mangle(j.id_token);
          body = JSON.stringify(j);
        }
        stats.id_token_alg = unb64(j.id_token.split(".")[0]).alg;
      }
    } catch (e) {
      process.stderr.write(`upstream_idp: tamper: ${e.stack || e}\n`);
    }
    if (!res.headersSent) res.setHeader("Content-Length", Buffer.byteLength(body));
    return end(body, ...rest.filter((x) => typeof x === "function"));
  };
}

const server = createHttps({ cert: readFileSync(o.cert), key: readFileSync(o.key) }, async (req, res) => {
  const url = new URL(req.url, ISSUER);
  try {
    if (url.pathname === "/.well-known/openid-configuration") stats.discovery++;
    if (url.pathname === "/jwks") stats.jwks++;
    if (url.pathname === "/token") {
      stats.token++;
      if (mode === "hang") {
        hung.push(req.socket); // no answer, ever: the client's timeout
        return;
      }
      if (mode === "garbage") {
        res.writeHead(200, { "Content-Type": "application/json" });
        return res.end(randomBytes(5 * 1024 * 1024));
      }
      tamper(res); // "pass": only noted (stats.id_token_alg)
    }
    if (url.pathname === "/me" && mode === "userinfo_other_sub") tamperUserinfo(res);
    if (url.pathname.startsWith("/interaction/")) return await interaction(req, res, url);
    return handler(req, res);
  } catch (e) {
    process.stderr.write(`upstream_idp: ${e.stack || e}\n`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
});

const control = createHttp((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  const json = (v) => res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(v) + "\n");
  if (req.method === "POST" && url.pathname === "/mode") {
    mode = url.searchParams.get("token") || "pass";
    for (const s of hung.splice(0)) s.destroy();
    return json({ mode });
  }
  if (req.method === "POST" && url.pathname === "/rotate") {
    // new keys first: the provider signs with them from now on, and
    // publishes the old ones too
    keys = [...newKeys(++generation), ...keys];
    provider = makeProvider();
    handler = provider.callback();
    return json({ kids: keys.map((k) => k.kid) });
  }
  if (url.pathname === "/stats") return json({ ...stats, mode, kids: keys.map((k) => k.kid) });
  res.writeHead(404).end();
});

server.listen(Number(o.port), "127.0.0.1", () => {
  control.listen(Number(o["control-port"]), "127.0.0.1", () => {
    if (o.ready) writeFileSync(o.ready, `${ISSUER}\n`);
  });
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
