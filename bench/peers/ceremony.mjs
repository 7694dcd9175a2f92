// The load client of the web login benchmark (bench/run.sh, section 7):
// the whole OpenID Connect login a browser and a relying party make
// together, machine-driven, the same program against fido2gate and its
// peer (peer_server.mjs). N virtual users, each its own user with its own
// P-256 key, log in over and over, one login at a time each:
//
//   GET /authorize (PKCE S256, state, nonce; redirects followed, cookies
//   kept) -> the login page's transaction (main#login's data-page) ->
//   POST login/begin {tx, user} -> the WebAuthn assertion, signed here
//   (authenticatorData: the RP ID's hash, UP|UV, a counter that moves
//   forward; clientDataJSON webauthn.get at the issuer's origin; ES256,
//   DER) -> POST login/finish -> the redirect, followed until it reaches
//   the client's redirect URI -> the code, state and iss checked -> POST
//   /token (client_secret_basic, the code_verifier) -> the id_token's
//   signature verified against the JWKS (fetched once, before the clock
//   starts), and its iss, aud, nonce and exp checked.
//
// A login is timed from its first request to its checked id_token; the
// rate counts the logins that end within the measured window, which
// follows the warm-up without a pause. Each login starts with no cookie
// (a fresh browser: no provider session to lean on). Each virtual user
// speaks from its own loopback address, as browsers do from theirs, over
// one keep-alive connection.
//
//   node ceremony.mjs keys N PRIVATE.jsonl PUBLIC.jsonl
//       N fresh P-256 keys for users bench0..bench(N-1): the client's half
//       ({"user", "credential_id", "private_key": base64 PKCS#8 DER}, as
//       fg-webkey prints it) and the provider's ({"user",
//       "credential_id", "public_key": the COSE key, base64url})
//   node ceremony.mjs run --issuer URL --users PRIVATE.jsonl
//       --secret-file FILE --redirect-uri URI [--client-id ID]
//       [--clients N] [--seconds SECONDS] [--warmup WARMUP] [--probes]
//       [--latencies FILE]
//       N clients log in as the first N users, WARMUP seconds and then
//       SECONDS measured; prints one JSON line: logins, errors, logins_per_s,
//       p50_ms, p99_ms, max_ms, all_logins (the warm-up's and those that
//       ended after the window too), and the first error, if any; exits 1
//       on any error. --probes first makes the last user try four logins
//       with one thing wrong each (no UV, a flipped signature bit, the
//       finish replayed, the code redeemed twice) and exits 1 unless the
//       provider refuses all four ("refused", "accepted" in the line).
//       The keys' counters are kept in PRIVATE.jsonl.counters; with
//       --latencies, every login's time (ms) goes to FILE, one a line.
import crypto from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const sha256 = (data) => crypto.createHash('sha256').update(data).digest();

function makeKeys(n, privFile, pubFile) {
  const priv = [];
  const pub = [];
  for (let i = 0; i < n; i++) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const user = `bench${i}`;
    const id = b64u(crypto.randomBytes(32));
    // COSE_Key: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
    const cose = Buffer.concat([
      Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]),
      Buffer.from(jwk.x, 'base64url'),
      Buffer.from([0x22, 0x58, 0x20]),
      Buffer.from(jwk.y, 'base64url'),
    ]);
    priv.push(JSON.stringify({
      user, credential_id: id,
      private_key: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    }));
    pub.push(JSON.stringify({ user, credential_id: id, public_key: b64u(cose) }));
  }
  writeFileSync(privFile, `${priv.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(pubFile, `${pub.join('\n')}\n`);
}

class LoginError extends Error {}
const PROBES = ['no_uv', 'tampered', 'replayed', 'reused_code'];
const REQUEST_TIMEOUT_MS = 10_000;
const fail = (msg) => { throw new LoginError(msg); };

const HTML_ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescapeHtml = (s) => s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
  if (e[0] === '#') {
    return String.fromCodePoint(e[1] === 'x' || e[1] === 'X'
      ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  }
  return HTML_ENTITIES[e.toLowerCase()] ?? m;
});

// One virtual user: its key, its connection, its cookies.
class User {
  constructor(cfg, rec, i) {
    this.cfg = cfg;
    this.name = rec.user;
    this.credentialId = rec.credential_id;
    this.key = rec.private_key && crypto.createPrivateKey({
      key: Buffer.from(rec.private_key, 'base64'), format: 'der', type: 'pkcs8',
    });
    this.counter = 0;
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: 1,
      // 127.77.x.y: a loopback address of its own
      localAddress: `127.77.${((i + 1) >> 8) & 255}.${(i + 1) & 255}`,
    });
    this.cookies = new Map(); // name -> { value, path }
  }

  request(method, url, { body, headers = {} } = {}) {
    const u = new URL(url);
    if (u.origin !== this.cfg.origin) fail(`left the provider for ${u.origin}`);
    const h = { Host: u.host, ...headers };
    const jar = [];
    for (const [name, c] of this.cookies) {
      if (u.pathname.startsWith(c.path)) jar.push(`${name}=${c.value}`);
    }
    if (jar.length) h.Cookie = jar.join('; ');
    if (body !== undefined) h['Content-Length'] = Buffer.byteLength(body);
    return new Promise((ok, no) => {
      const req = http.request({
        host: this.cfg.connect, port: this.cfg.port, method, path: u.pathname + u.search,
        headers: h, agent: this.agent,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          for (const sc of res.headers['set-cookie'] ?? []) this.setCookie(sc);
          ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', no);
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new LoginError(`${method} ${u.pathname}: no answer`)));
      req.on('error', no);
      req.end(body);
    });
  }

  setCookie(header) {
    const [pair, ...attrs] = header.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let path = '/';
    let expired = value === '';
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      const key = k.trim().toLowerCase();
      if (key === 'path') path = v.trim();
      if (key === 'max-age' && Number(v) <= 0) expired = true;
      if (key === 'expires' && Date.parse(v) < Date.now()) expired = true;
    }
    if (expired) this.cookies.delete(name);
    else this.cookies.set(name, { value, path });
  }

  async json(url, obj) {
    const r = await this.request('POST', url, {
      body: JSON.stringify(obj),
      headers: { 'Content-Type': 'application/json', Origin: this.cfg.origin },
    });
    let j;
    try {
      j = JSON.parse(r.body);
    } catch {
      fail(`${new URL(url).pathname}: ${r.status}, not JSON`);
    }
    if (r.status !== 200) fail(`${new URL(url).pathname}: ${r.status} ${r.body.slice(0, 200)}`);
    return j;
  }

  // follows redirects from url until the client's redirect URI; the
  // page there, or the URI
  async follow(url, { until }) {
    for (let hops = 0; hops < 5; hops++) {
      if (url.startsWith(this.cfg.redirectUri)) return { url };
      const r = await this.request('GET', url);
      if (r.status >= 300 && r.status < 400 && r.headers.location) {
        url = new URL(r.headers.location, url).href;
      } else if (r.status === 200 && until === 'page') {
        return { url, body: r.body };
      } else {
        fail(`GET ${new URL(url).pathname}: ${r.status} ${r.body.slice(0, 200)}`);
      }
    }
    return fail('too many redirects');
  }

  assertion(begin, probe) {
    this.counter += 1;
    const authData = Buffer.alloc(37);
    sha256(begin.rp_id).copy(authData, 0);
    authData[32] = probe === 'no_uv' ? 0x01 : 0x05; // UP, UV
    authData.writeUInt32BE(this.counter, 33);
    const cdj = Buffer.from(JSON.stringify({
      type: 'webauthn.get', challenge: begin.challenge, origin: this.cfg.origin, crossOrigin: false,
    }));
    const sig = crypto.sign('sha256', Buffer.concat([authData, sha256(cdj)]), this.key);
    if (probe === 'tampered') sig[sig.length - 1] ^= 1;
    return { authenticator_data: b64u(authData), client_data_json: b64u(cdj), signature: b64u(sig) };
  }

  // One login. probe: one thing wrong with it, which the provider must
  // refuse ("no_uv": the UV flag clear; "tampered": a bit of the
  // signature flipped; "replayed": the finish, accepted, posted again;
  // "reused_code": the code, redeemed, redeemed again); true when it did.
  async login(probe) {
    const { cfg } = this;
    this.cookies.clear();
    const verifier = b64u(crypto.randomBytes(32));
    const state = b64u(crypto.randomBytes(16));
    const nonce = b64u(crypto.randomBytes(16));
    const q = new URLSearchParams({
      client_id: cfg.clientId, redirect_uri: cfg.redirectUri, response_type: 'code', scope: 'openid',
      state, nonce, code_challenge: b64u(sha256(verifier)), code_challenge_method: 'S256',
    });
    const page = await this.follow(`${cfg.disco.authorization_endpoint}?${q}`, { until: 'page' });
    const m = /<main id="login" data-page="([^"]*)"/.exec(page.body);
    if (m === null) fail('no data-page on the login page');
    const { tx } = JSON.parse(unescapeHtml(m[1]));
    const begin = await this.json(new URL('login/begin', page.url).href, { tx, user: this.name });
    if (!begin.allow_credentials.includes(this.credentialId)) fail('begin: our credential is not allowed');
    const finishUrl = new URL('login/finish', page.url).href;
    const body = { tx, session: begin.session, credential_id: this.credentialId, ...this.assertion(begin, probe) };
    if (probe === 'no_uv' || probe === 'tampered') return !(await this.finishes(finishUrl, body));
    const finish = await this.json(finishUrl, body);
    // what login.js goes by: a 200 with somewhere to go
    if (typeof finish.redirect !== 'string') {
      fail(`finish: ${JSON.stringify(finish).slice(0, 200)}`);
    }
    if (probe === 'replayed') return !(await this.finishes(finishUrl, body));
    const back = new URL((await this.follow(new URL(finish.redirect, page.url).href, {})).url);
    const code = back.searchParams.get('code');
    if (!code || back.searchParams.get('state') !== state) fail('redirect: no code, or not our state');
    if (back.searchParams.get('iss') !== cfg.disco.issuer) fail('redirect: not our issuer');
    const redeem = () => this.request('POST', cfg.disco.token_endpoint, {
      body: new URLSearchParams({
        grant_type: 'authorization_code', code, redirect_uri: cfg.redirectUri, code_verifier: verifier,
      }).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: cfg.basic },
    });
    const tok = await redeem();
    if (tok.status !== 200) fail(`token: ${tok.status} ${tok.body.slice(0, 200)}`);
    this.checkIdToken(JSON.parse(tok.body).id_token, nonce);
    if (probe === 'reused_code') return (await redeem()).status !== 200;
    return true;
  }

  // a finish the provider accepted: a 200 with somewhere to go
  async finishes(url, body) {
    const r = await this.request('POST', url, {
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', Origin: this.cfg.origin },
    });
    try {
      return r.status === 200 && typeof JSON.parse(r.body).redirect === 'string';
    } catch {
      return false;
    }
  }

  checkIdToken(jwt, nonce) {
    const { cfg } = this;
    if (typeof jwt !== 'string') fail('token: no id_token');
    const [h, p, s] = jwt.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url'));
    const key = cfg.keys.get(`${header.alg} ${header.kid}`) ?? cfg.keys.get(`${header.alg} undefined`);
    if (key === undefined) fail(`id_token: no ${header.alg} key ${header.kid} in the JWKS`);
    const ok = crypto.verify(
      'sha256',
      Buffer.from(`${h}.${p}`),
      header.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
      Buffer.from(s, 'base64url'),
    );
    if (!ok) fail('id_token: bad signature');
    const c = JSON.parse(Buffer.from(p, 'base64url'));
    const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
    if (c.iss !== cfg.disco.issuer || !aud.includes(cfg.clientId) || c.nonce !== nonce
        || !(c.exp > Date.now() / 1000) || typeof c.sub !== 'string') {
      fail(`id_token: wrong claims ${JSON.stringify(c)}`);
    }
  }
}

async function setup(opt) {
  const issuer = new URL(opt.issuer);
  const cfg = {
    origin: issuer.origin,
    connect: issuer.hostname === 'localhost' ? '127.0.0.1' : issuer.hostname,
    port: Number(issuer.port || 80),
    clientId: opt['client-id'],
    redirectUri: opt['redirect-uri'],
    // RFC 6749 §2.3.1: each part form-urlencoded first
    basic: `Basic ${Buffer.from(`${encodeURIComponent(opt['client-id'])}:${
      encodeURIComponent(readFileSync(opt['secret-file'], 'utf8').trim())}`).toString('base64')}`,
  };
  const anon = new User(cfg, { user: '', credential_id: '', private_key: '' }, 0);
  const get = async (url) => {
    const r = await anon.request('GET', url);
    if (r.status !== 200) fail(`GET ${url}: ${r.status}`);
    return JSON.parse(r.body);
  };
  // the well-known document under the issuer's path (OIDC Discovery §4)
  cfg.disco = await get(`${opt.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  cfg.keys = new Map();
  for (const k of (await get(cfg.disco.jwks_uri)).keys) {
    const alg = k.alg ?? (k.kty === 'RSA' ? 'RS256' : 'ES256');
    cfg.keys.set(`${alg} ${k.kid}`, crypto.createPublicKey({ key: k, format: 'jwk' }));
  }
  anon.agent.destroy();
  return cfg;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function run(opt) {
  const cfg = await setup(opt);
  const recs = readFileSync(opt.users, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const n = Number(opt.clients);
  if (recs.length < n + 1) fail(`${n} clients need ${n + 1} users; ${opt.users} has ${recs.length}`);
  const users = recs.slice(0, n).map((r, i) => new User(cfg, r, i));
  // the last user, whom no client logs in as: the probes' (failures
  // count against a user)
  const prober = new User(cfg, recs[recs.length - 1], recs.length - 1);
  // the keys' signature counters, kept from run to run beside the keys:
  // a provider refuses a counter that does not move forward
  const countersFile = `${opt.users}.counters`;
  let counters = {};
  try {
    counters = JSON.parse(readFileSync(countersFile, 'utf8'));
  } catch {
    // the first run on these keys
  }
  for (const u of [...users, prober]) u.counter = counters[u.name] ?? 0;
  const refused = [];
  const accepted = [];
  if (opt.probes) {
    for (const kind of PROBES) (await prober.login(kind) ? refused : accepted).push(kind);
    counters[prober.name] = prober.counter;
    prober.agent.destroy();
  }
  const lat = [];
  let errors = 0;
  let all = 0; // warm-up and stragglers too: what the servers' CPU time paid for
  let firstError;
  // the clients log in without a pause from the warm-up on; the window
  // counts the logins that end within it, and their times
  const from = performance.now() + Number(opt.warmup) * 1000;
  const until = from + Number(opt.seconds) * 1000;

  async function loop(u) {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        await u.login();
        all += 1;
        const t1 = performance.now();
        if (t1 >= from && t1 <= until) lat.push(t1 - t0);
      } catch (e) {
        errors += 1;
        firstError ??= `${u.name}: ${e.message}`;
        if (!(e instanceof LoginError)) await new Promise((ok) => setTimeout(ok, 10));
      }
    }
  }

  await Promise.all(users.map((u) => loop(u)));
  const elapsed = Number(opt.seconds);
  for (const u of users) {
    u.agent.destroy();
    counters[u.name] = u.counter;
  }
  writeFileSync(countersFile, JSON.stringify(counters));
  if (opt.latencies) writeFileSync(opt.latencies, lat.map((x) => x.toFixed(3)).join('\n'));
  lat.sort((a, b) => a - b);
  const r2 = (x) => Math.round(x * 100) / 100;
  const out = {
    clients: n,
    seconds: r2(elapsed),
    logins: lat.length,
    errors,
    logins_per_s: r2(lat.length / elapsed),
    p50_ms: r2(percentile(lat, 50)),
    p99_ms: r2(percentile(lat, 99)),
    max_ms: r2(lat.length ? lat[lat.length - 1] : 0),
    all_logins: all,
  };
  if (opt.probes) Object.assign(out, { refused: refused.join(','), accepted: accepted.join(',') });
  if (firstError !== undefined) out.first_error = firstError;
  console.log(JSON.stringify(out));
  return errors === 0 && lat.length > 0 && accepted.length === 0 ? 0 : 1;
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'keys' && rest.length === 3) {
  makeKeys(Number(rest[0]), rest[1], rest[2]);
} else if (cmd === 'run') {
  const { values } = parseArgs({
    args: rest,
    options: {
      issuer: { type: 'string' },
      users: { type: 'string' },
      'secret-file': { type: 'string' },
      'redirect-uri': { type: 'string' },
      'client-id': { type: 'string', default: 'app' },
      clients: { type: 'string', default: '1' },
      seconds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      probes: { type: 'boolean', default: false },
      latencies: { type: 'string' },
    },
    strict: true,
  });
  if (!values.issuer || !values.users || !values['secret-file'] || !values['redirect-uri']) {
    console.error('usage: ceremony.mjs run --issuer URL --users FILE --secret-file FILE --redirect-uri URI ...');
    process.exit(2);
  }
  process.exitCode = await run(values);
} else {
  console.error('usage: ceremony.mjs keys N PRIVATE.jsonl PUBLIC.jsonl | run --issuer URL ...');
  process.exit(2);
}
