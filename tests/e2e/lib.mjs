// The browser side of fido2gate's end-to-end tests: Debian's Chromium,
// headless, driven by playwright-core over the DevTools protocol, with a
// WebAuthn virtual authenticator that holds credentials enrolled through
// fido2gate (tests/tools/fg_webkey.c). Every wait ends on an event (a URL,
// an element's text, a response), never on a fixed sleep, so that a busy
// machine gives the same answers, only later.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.FG_CHROMIUM || "/usr/bin/chromium";

// The flags this machine's Chromium needs (its network is closed: no
// background requests, no component updates, no QUIC).
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Long enough for a loaded machine; each wait still ends as soon as what
// it waits for happens.
export const TIMEOUT_MS = Number(process.env.FG_E2E_TIMEOUT_MS || 60000);

const b64 = (b64url) =>
  Buffer.from(b64url, "base64url").toString("base64");

// launchBrowser([flags]): one headless Chromium for a whole test, with
// these flags too. playwright gives it a fresh, empty --user-data-dir of
// its own, removed at close.
export async function launchBrowser(extra = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, ...extra],
    timeout: TIMEOUT_MS,
  });
}

// newSession(browser, {locale}): a fresh browser context (no cookies, no
// storage: a new user at a new machine), one page, a DevTools session on
// it, and a record of what the front answered the page.
export async function newSession(browser, { locale = "en-US" } = {}) {
  const context = await browser.newContext({
    locale,
    // the page's language comes from Accept-Language (web/lang.c)
    extraHTTPHeaders: { "Accept-Language": `${locale},${locale.split("-")[0]};q=0.9` },
    viewport: { width: 800, height: 640 },
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.setDefaultNavigationTimeout(TIMEOUT_MS);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const session = { context, page, cdp, authenticator: null, replies: [], documents: [], downgrade: false };
  // the front's JSON replies to the page, for the test to read, taken on
  // their way in (a response event's body is gone once the page has left)
  await page.route(
    (u) => /\/login\/(begin|finish|abort)$/.test(u.pathname),
    async (route) => {
      // The front closes an idle keep-alive connection after 5 s: a
      // request that meets the close is sent again, once, on a new one.
      // Any other failure is the page's own (a refused fetch), never a
      // crash of the driver.
      let r;
      try {
        r = await route.fetch();
      } catch {
        try {
          r = await route.fetch();
        } catch (e) {
          session.replies.push({ path: new URL(route.request().url()).pathname, status: 0, body: null, error: String(e) });
          return route.abort("connectionreset").catch(() => {});
        }
      }
      const text = await r.text();
      const entry = { path: new URL(route.request().url()).pathname, status: r.status(), body: null };
      session.replies.push(entry);
      try {
        entry.body = JSON.parse(text);
      } catch {
        return route.fulfill({ response: r, body: text });
      }
      if (entry.path.endsWith("/begin") && session.downgrade && typeof entry.body.uv === "string") {
        session.frontUV = entry.body.uv;
        return route.fulfill({ response: r, json: { ...entry.body, uv: "discouraged" } });
      }
      return route.fulfill({ response: r, body: text });
    },
  );
  // every document the main frame loaded, and its status
  page.on("response", (r) => {
    const req = r.request();
    if (req.isNavigationRequest() && req.frame() === page.mainFrame())
      session.documents.push({ url: r.url(), status: r.status() });
  });
  return session;
}

export async function closeSession(session) {
  await session.context.close();
}

// addAuthenticator(session, {uv, presence}): a CTAP2 USB key that can
// verify its user (a PIN); uv: whether it does, presence: whether the user
// touches it when asked.
export async function addAuthenticator(session, { uv = true, presence = true } = {}) {
  await session.cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await session.cdp.send(
    "WebAuthn.addVirtualAuthenticator",
    {
      options: {
        protocol: "ctap2",
        ctap2Version: "ctap2_1",
        transport: "usb",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: uv,
        automaticPresenceSimulation: presence,
      },
    },
  );
  session.authenticator = authenticatorId;
  return authenticatorId;
}

// addCredential(session, key, {credentialOf}): key is fg-webkey's JSON;
// credentialOf (another fg-webkey JSON) lends its credential ID, so that
// the authenticator answers for that credential with key's private key.
export async function addCredential(session, key, { credentialOf = null } = {}) {
  const id = (credentialOf || key).credential_id;
  await session.cdp.send("WebAuthn.addCredential", {
    authenticatorId: session.authenticator,
    credential: {
      credentialId: b64(id),
      isResidentCredential: false,
      rpId: key.rp_id,
      privateKey: key.private_key,
      // the key's counter where its last login left it (driver.mjs keeps
      // it in the key's file): a fresh browser must not look like a clone
      signCount: (credentialOf || key).sign_count || 0,
    },
  });
}

export async function credentials(session) {
  const { credentials } = await session.cdp.send("WebAuthn.getCredentials", {
    authenticatorId: session.authenticator,
  });
  return credentials;
}

// downgradeUV(session): a page, or a browser, that asks the key for less
// than the agent demands: login/begin's "uv" is rewritten to
// "discouraged" on its way to the page, so the key signs without
// verifying its user. What the front really said is kept in
// session.frontUV.
export function downgradeUV(session) {
  session.downgrade = true;
}

// openLogin(session, url, frontOrigin): go to url (a relying party's
// login, which sends the browser to the front's /authorize) and wait for
// the login page to be ready: login.js enables the button.
export async function openLogin(session, url, frontOrigin) {
  const { page } = session;
  await page.goto(url, { waitUntil: "load" });
  await page.waitForURL((u) => u.origin === frontOrigin && u.pathname.endsWith("/authorize"));
  await page.waitForSelector("#go:not([disabled])", { state: "attached" });
}

// What has focus, for the keyboard-only login.
async function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    return e ? e.id || e.tagName.toLowerCase() : "";
  });
}

// keyboardLogin(session, {user, password}): type the user name (and the
// password) with the keyboard and submit with Tab and Enter, no mouse;
// throws when focus is not where a keyboard user would find it.
export async function keyboardLogin(session, { user, password = null }) {
  const { page } = session;
  let f = await focused(page);
  if (f !== "user") throw new Error(`the page did not put focus on the user name (focus: ${f})`);
  await page.keyboard.type(user);
  if (password !== null) {
    await page.keyboard.press("Tab");
    if ((f = await focused(page)) !== "password")
      throw new Error(`Tab from the user name went to ${f}, not the password`);
    await page.keyboard.type(password);
  }
  await page.keyboard.press("Tab");
  if ((f = await focused(page)) !== "go")
    throw new Error(`Tab went to ${f}, not the submit button`);
  await page.keyboard.press("Enter");
}

// outcome(session, frontOrigin): waits until the browser has left the
// front (a redirect to the client: the first document it loads outside
// the front's origin) or the page shows an error; returns
// {kind: "redirect", url, status, text} or {kind: "error", text, status}.
export async function outcome(session, frontOrigin) {
  const { page } = session;
  const left = page
    .waitForURL((u) => u.origin !== frontOrigin, { waitUntil: "load" })
    .then(async () => {
      const doc = session.documents[session.documents.length - 1] || {};
      let text = "";
      try {
        text = await page.evaluate(() => (document.body ? document.body.innerText : ""));
      } catch {}
      return { kind: "redirect", url: page.url(), status: doc.status || 0, text };
    });
  const error = page.locator("#error").filter({ hasText: /\S/ });
  const failed = error
    .waitFor({ state: "visible" })
    .then(async () => ({ kind: "error", text: (await error.textContent()).trim(), status: 0 }));
  // the loser is left pending or fails when the page goes away
  left.catch(() => {});
  failed.catch(() => {});
  return Promise.any([left, failed]).catch((e) => {
    throw e.errors ? e.errors[0] : e;
  });
}

// The page's visible text and language, for checks and screenshots.
export async function pageInfo(session) {
  return session.page.evaluate(() => ({
    lang: document.documentElement.lang,
    title: document.title,
    text: document.body ? document.body.innerText : "",
  }));
}

export async function screenshot(session, path) {
  mkdirSync(dirname(path), { recursive: true });
  await session.page.screenshot({ path, fullPage: true });
}

const readKey = (f) => JSON.parse(readFileSync(f, "utf8"));

// scenarioKeys(session, sc): unless sc.authenticator is false, a virtual
// authenticator (sc.uv, sc.presence) holding the keys of sc.keys
// (fg-webkey files) and of sc.key_as ([key, credential-of] pairs)
export async function scenarioKeys(session, sc) {
  if (sc.authenticator === false) return;
  await addAuthenticator(session, { uv: sc.uv !== false, presence: sc.presence !== false });
  for (const f of sc.keys || []) await addCredential(session, readKey(f));
  for (const [f, id] of sc.key_as || [])
    await addCredential(session, readKey(f), { credentialOf: readKey(id) });
}

// saveSignCounts(session, files): each key's counter where this run left
// it, back in its file (the next fresh browser must not look like a
// clone); returns the authenticator's credentials
export async function saveSignCounts(session, files = []) {
  const creds = session.authenticator ? await credentials(session) : [];
  for (const f of files) {
    const k = readKey(f);
    const c = creds.find(
      (c) => Buffer.from(c.credentialId, "base64").toString("base64url") === k.credential_id,
    );
    if (c) writeFileSync(f, JSON.stringify({ ...k, sign_count: c.signCount }) + "\n");
  }
  return creds;
}

// serveLines(handle): a JSON scenario a line on stdin, handle's JSON result
// a line on stdout (a throw is a "driver_error"), until stdin ends
export async function serveLines(handle) {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    let result;
    try {
      result = await handle(JSON.parse(line));
    } catch (e) {
      result = { outcome: "driver_error", error: String(e.stack || e) };
    }
    process.stdout.write(JSON.stringify(result) + "\n");
  }
}
