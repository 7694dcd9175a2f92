#!/usr/bin/env node
// A relying party that is not ours: npm's openid-client (OpenID certified),
// as a small web application on loopback. GET /login sends the browser to
// the provider (discovery, code flow, PKCE S256, state, nonce); GET /cb
// takes the code, redeems it at the token endpoint and validates the
// id_token (issuer, audience, expiry, nonce, and its signature against the
// provider's JWKS). The page it answers holds the outcome as JSON in
// <pre id="result">; the same line is appended to --out.
//
//   node rp.mjs --issuer URL --client-id ID --secret-file FILE --port N
//       [--auth basic|post] [--alg RS256|ES256] [--token-endpoint URL]
//       [--no-signature-check] [--out FILE] [--ready FILE]
//
// --token-endpoint: redeem codes there instead of the discovered endpoint
// (a tampering proxy, for the tests). --no-signature-check: openid-client's
// default, which skips the id_token's signature on a token endpoint reply
// (OpenID Connect Core §3.1.3.7 allows it over TLS); by default this RP
// checks it (enableNonRepudiationChecks).

import { randomBytes } from "node:crypto";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import * as client from "openid-client";

const { values: o } = parseArgs({
  options: {
    issuer: { type: "string" },
    "client-id": { type: "string" },
    "secret-file": { type: "string" },
    port: { type: "string" },
    auth: { type: "string", default: "basic" },
    alg: { type: "string", default: "RS256" },
    "token-endpoint": { type: "string" },
    "no-signature-check": { type: "boolean", default: false },
    out: { type: "string" },
    ready: { type: "string" },
  },
});
const base = `http://localhost:${o.port}`;
const secret = readFileSync(o["secret-file"], "utf8").replace(/[\r\n]+$/, "");
const auth = o.auth === "post" ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
const metadata = { client_secret: secret, id_token_signed_response_alg: o.alg };
const execute = [client.allowInsecureRequests]; // loopback http only
if (!o["no-signature-check"]) execute.push(client.enableNonRepudiationChecks);

let config = await client.discovery(new URL(o.issuer), o["client-id"], metadata, auth, { execute });
if (o["token-endpoint"]) {
  // the same provider, with its token endpoint replaced (as an RP
  // configured by hand would have it)
  config = new client.Configuration(
    { ...config.serverMetadata(), token_endpoint: o["token-endpoint"] },
    o["client-id"], metadata, auth);
  for (const f of execute) f(config);
}

const pending = new Map(); // browser session -> {verifier, state, nonce}

function page(res, status, result) {
  const line = JSON.stringify(result);
  if (o.out) appendFileSync(o.out, line + "\n");
  const esc = line.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
  res.end(`<!DOCTYPE html><title>openid-client RP</title><pre id="result">${esc}</pre>\n`);
}

function cookie(req, name) {
  const m = (req.headers.cookie || "").match(new RegExp(`(?:^|; )${name}=([^;]+)`));
  return m ? m[1] : null;
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, base);
  try {
    if (url.pathname === "/login") {
      const verifier = client.randomPKCECodeVerifier();
      const t = { verifier, state: client.randomState(), nonce: client.randomNonce() };
      const sid = randomBytes(16).toString("hex");
      pending.set(sid, t);
      const to = client.buildAuthorizationUrl(config, {
        redirect_uri: `${base}/cb`,
        scope: "openid profile",
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
        state: t.state,
        nonce: t.nonce,
      });
      res.writeHead(302, {
        Location: to.href,
        "Set-Cookie": `oc_rp=${sid}; HttpOnly; SameSite=Lax; Path=/`,
      });
      return res.end();
    }
    if (url.pathname === "/cb") {
      const sid = cookie(req, "oc_rp");
      const t = sid && pending.get(sid);
      if (!t) return page(res, 400, { ok: false, error: "no login under way in this browser" });
      pending.delete(sid);
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: t.verifier,
        expectedState: t.state,
        expectedNonce: t.nonce,
        idTokenExpected: true,
      });
      const header = JSON.parse(Buffer.from(tokens.id_token.split(".")[0], "base64url"));
      return page(res, 200, {
        ok: true,
        claims: tokens.claims(),
        alg: header.alg,
        nonce_sent: t.nonce,
        token_type: tokens.token_type,
        scope: tokens.scope,
      });
    }
    res.writeHead(404).end();
  } catch (e) {
    // the reason, down to the first cause (openid-client wraps them)
    let why = String(e.message || e);
    for (let c = e.cause; c && typeof c === "object"; c = c.cause) why += `: ${c.message || c.code || ""}`;
    page(res, 403, { ok: false, error: why, code: e.code || null });
  }
});
server.listen(Number(o.port), "127.0.0.1", () => {
  if (o.ready) writeFileSync(o.ready, `${base}\n`);
});
// stop at once: a browser's keep-alive connection must not hold the test
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
