// The peer of the web login benchmark (bench/run.sh, section 7): an
// OpenID Connect provider built the way a Node.js shop would build
// fido2gate's job, from npm's OpenID-certified oidc-provider and
// @simplewebauthn/server, both pinned in package.json. Its login
// interaction is fido2gate's: a page holding the transaction in
// main#login's data-page attribute, then login/begin (a WebAuthn challenge
// for the user's enrolled credential) and login/finish (the assertion,
// verified; the interaction finished with the user logged in). What
// fido2gate requires, it requires too: PKCE S256, user verification, a
// challenge used once (taken before it is checked) within 60 s, the
// credential's counter moving forward, a fresh assertion for every
// authorization (no provider session lets one through), codes single use
// within 60 s, RS256 id_tokens (RSA-2048, fido2gate's default).
//
//   node peer_server.mjs --users USERS.jsonl --secret-file FILE
//       --redirect-uri URI [--port N] [--client-id ID]
//
// USERS.jsonl: one {"user", "credential_id", "public_key"} a line (the
// COSE key, base64url), loaded into the store at start, as an enrolment
// would have left it. Prints "peer: listening on ISSUER" once it serves;
// runs until SIGTERM or SIGINT. One process, oidc-provider's own memory
// adapter: no database to wait on.
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import Provider, { interactionPolicy } from 'oidc-provider';
import {
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
} from '@simplewebauthn/server';

const { values: opt } = parseArgs({
  options: {
    users: { type: 'string' },
    'secret-file': { type: 'string' },
    'redirect-uri': { type: 'string' },
    'client-id': { type: 'string', default: 'app' },
    port: { type: 'string', default: '0' },
  },
  strict: true,
});
if (!opt.users || !opt['secret-file'] || !opt['redirect-uri']) {
  console.error('usage: peer_server.mjs --users FILE --secret-file FILE --redirect-uri URI [--port N]');
  process.exit(2);
}

const CHALLENGE_MS = 60_000; // fido2gate's challenge_timeout
const MAX_BODY = 16384; // fido2gate-web's --max-body
const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

// the store: user name -> { credentials: [{ id, publicKey, counter }] }
const users = new Map();
for (const line of readFileSync(opt.users, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  const u = JSON.parse(line);
  users.set(u.user, {
    credentials: [{
      id: u.credential_id,
      publicKey: new Uint8Array(Buffer.from(u.public_key, 'base64url')),
      counter: 0,
    }],
  });
}
// session -> { uid, user, challenge, expires }: each taken by the first
// finish that names it
const pending = new Map();
setInterval(() => {
  const now = Date.now();
  for (const [k, p] of pending) if (p.expires < now) pending.delete(k);
}, 5000).unref();

const server = http.createServer();
await new Promise((ok) => server.listen(Number(opt.port), '127.0.0.1', ok));
const ISSUER = `http://localhost:${server.address().port}`;
const RP_ID = 'localhost';

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'rs1', use: 'sig', alg: 'RS256' };

// the login prompt every time: a session left by an earlier login does
// not stand in for this authorization's assertion
const policy = interactionPolicy.base();
policy.get('login').checks.push(new interactionPolicy.Check(
  'fresh_assertion',
  'every authorization needs a fresh assertion of the key',
  (ctx) => (ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT
    : interactionPolicy.Check.REQUEST_PROMPT),
));

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: opt['client-id'],
    client_secret: readFileSync(opt['secret-file'], 'utf8').trim(),
    redirect_uris: [opt['redirect-uri']],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  ttl: {
    AuthorizationCode: 60,
    AccessToken: 300,
    IdToken: 300,
    Interaction: 600,
    Session: 600,
    Grant: 600,
  },
  interactions: {
    policy,
    // a trailing slash: the page's relative login/begin stays under it,
    // where the interaction cookie is sent
    url: (ctx, interaction) => `/interaction/${interaction.uid}/`,
  },
  // a first-party client: no consent screen, the openid scope granted
  async loadExistingGrant(ctx) {
    const id = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (id) {
      const found = await ctx.oidc.provider.Grant.find(id);
      if (found) return found;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, sub) {
    if (!users.has(sub)) return undefined;
    return { accountId: sub, claims: async () => ({ sub, preferred_username: sub }) };
  },
});
const oidc = provider.callback();

function send(res, status, body, type = 'application/json') {
  const data = type === 'application/json' ? JSON.stringify(body) : body;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(data),
  });
  res.end(data);
}

function readJson(req) {
  return new Promise((ok, fail) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > MAX_BODY) {
        fail(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        ok(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        fail(Object.assign(new Error('not JSON'), { status: 400 }));
      }
    });
    req.on('error', fail);
  });
}

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, uid) {
  const data = JSON.stringify({ tx: uid, first_factor: 'none', uv: 'required', lang: 'en', expires_in: 600 });
  send(res, 200, '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    + '<title>Sign in</title>\n<script src="/static/login.js" defer></script>\n</head>\n<body>\n'
    + `<main id="login" data-page="${escapeHtml(data)}">\n<h1>Sign in with your security key</h1>\n`
    + '<form id="form" method="post"><input id="user" type="text" autocomplete="username" required>'
    + '<button id="go" type="submit" disabled>Continue</button></form>\n</main>\n</body>\n</html>\n',
  'text/html; charset=utf-8');
}

const localpart = (name) => (typeof name === 'string'
  ? name.replace(/^@([^:]+):.*$/, '$1') : '');

async function begin(req, res, uid) {
  const body = await readJson(req);
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid || body.tx !== uid || details.prompt.name !== 'login') {
    return send(res, 400, { error: 'bad_request' });
  }
  const user = localpart(body.user);
  const u = users.get(user);
  if (u === undefined) return send(res, 403, { error: 'no_key' });
  const options = await generateAuthenticationOptions({
    rpID: RP_ID,
    allowCredentials: u.credentials.map((c) => ({ id: c.id })),
    userVerification: 'required',
    timeout: CHALLENGE_MS,
  });
  const session = crypto.randomBytes(16).toString('base64url');
  pending.set(session, { uid, user, challenge: options.challenge, expires: Date.now() + CHALLENGE_MS });
  return send(res, 200, {
    session,
    challenge: options.challenge,
    rp_id: RP_ID,
    allow_credentials: u.credentials.map((c) => c.id),
    uv: 'required',
    timeout: CHALLENGE_MS / 1000,
  });
}

async function finish(req, res, uid) {
  const body = await readJson(req);
  const details = await provider.interactionDetails(req, res);
  const p = pending.get(body.session);
  pending.delete(body.session); // single use, whatever follows
  if (details.uid !== uid || body.tx !== uid || p === undefined || p.uid !== uid
      || p.expires < Date.now()) {
    return send(res, 403, { result: 'deny', why: 'expired' });
  }
  const cred = users.get(p.user).credentials.find((c) => c.id === body.credential_id);
  if (cred === undefined) return send(res, 403, { result: 'deny', why: 'wrong_key' });
  let v;
  try {
    v = await verifyAuthenticationResponse({
      response: {
        id: body.credential_id,
        rawId: body.credential_id,
        type: 'public-key',
        clientExtensionResults: {},
        response: {
          authenticatorData: body.authenticator_data,
          clientDataJSON: body.client_data_json,
          signature: body.signature,
        },
      },
      expectedChallenge: p.challenge,
      expectedOrigin: ISSUER,
      expectedRPID: RP_ID,
      credential: cred,
      requireUserVerification: true,
    });
  } catch (e) {
    return send(res, 403, { result: 'deny', why: 'wrong_key', reason: e.message });
  }
  if (!v.verified) return send(res, 403, { result: 'deny', why: 'wrong_key' });
  cred.counter = v.authenticationInfo.newCounter;
  const redirect = await provider.interactionResult(req, res, {
    login: { accountId: p.user, amr: ['hwk', 'pin'] },
  }, { mergeWithLastSubmission: false });
  return send(res, 200, { result: 'allow', redirect });
}

const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)\/(login\/(begin|finish))?$/;

server.on('request', (req, res) => {
  const path = req.url.split('?')[0];
  const m = INTERACTION.exec(path);
  if (m === null) {
    oidc(req, res);
    return;
  }
  const [, uid, , step] = m;
  let work;
  if (step === undefined && req.method === 'GET') {
    work = provider.interactionDetails(req, res).then((d) => (d.uid === uid
      ? page(res, uid) : send(res, 400, { error: 'bad_request' })));
  } else if (step !== undefined && req.method === 'POST') {
    // what fido2gate-web checks before it reads a body
    if (req.headers.origin !== ISSUER) {
      send(res, 403, { error: 'forbidden' });
      req.resume();
      return;
    }
    work = step === 'begin' ? begin(req, res, uid) : finish(req, res, uid);
  } else {
    send(res, 405, { error: 'method' });
    return;
  }
  work.catch((e) => {
    if (!res.headersSent) {
      send(res, e.status ?? (e.name === 'SessionNotFound' ? 400 : 500), { error: e.message });
    }
  });
});

console.log(`peer: listening on ${ISSUER}`);
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
