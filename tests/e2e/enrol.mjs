#!/usr/bin/env node
// The browser on an invitation link's enrolment page (fido2gatectl
// invite): for each line on stdin (a JSON scenario), a fresh browser
// context with its own empty virtual authenticator opens the link, types
// the password with the keyboard, submits with Enter, and lets the key
// make a new credential through navigator.credentials.create(); one JSON
// line on stdout for each. The shell test drives it as a coprocess, as
// driver.mjs.
//
// With the organisation's provider as the first factor ([web]
// first_factor = oidc:NAME) the link sends the browser to the provider's
// own login page (upstream_idp.mjs) first, and the enrolment page comes
// back from the front's /upstream/callback. Run with --idp-spki HASH, the
// browser trusts the provider's test certificate (and no other).
//
// A scenario:
//   {"url": LINK,          the link fido2gatectl invite printed
//    "front": ORIGIN,      the front's origin
//    "password": TEXT,     typed when the page has a password field
//    "idp": ORIGIN,        the provider: "login" and "idp_password" typed
//                          on its page, or with "cancel": true its cancel
//                          button pressed
//    "uv": true, "presence": true, "authenticator": true (as driver.mjs)
//    "locale": "en-US",
//    "save": FILE,         the new credential as fg-webkey's JSON (for
//                          driver.mjs's "keys"), once registered
//    "shot": FILE}         a screenshot once the page has answered
//
// The answer: {"outcome": "done"|"error"|"page"|"idp_error"|
// "driver_error", "status" (the HTTP status of the front's last page),
// "url" (where it was), "text" (the page's message, or its body when it
// is no enrolment page), "title", "lang", "replies": [the front's JSON
// replies to /invite/*], "idp_page" (the provider's login page, when
// shown), "callback" (the URL the front got the provider's answer on),
// "stylesheets": [{url, status} of every stylesheet the pages loaded],
// "credentials": how many the key holds, "ms"}.

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import * as fg from "./lib.mjs";

const { values: opt } = parseArgs({ options: { "idp-spki": { type: "string" } } });

// the provider's login page: a password typed, or the cancel button;
// "left" once the browser is elsewhere, "refused" when the provider
// itself refused the password
async function providerLogin(s, sc, idp) {
  await s.page.waitForSelector("#login");
  const info = { title: await s.page.title(), url: s.page.url() };
  const left = s.page
    .waitForURL((u) => u.origin !== idp, { waitUntil: "load" })
    .then(() => "left");
  const refused = s.page
    .locator("#idp-error")
    .waitFor({ state: "visible" })
    .then(() => "refused");
  left.catch(() => {});
  refused.catch(() => {});
  if (sc.cancel) {
    await s.page.click("#cancel");
  } else {
    await s.page.fill("#login", sc.login || "");
    await s.page.fill("#password", sc.idp_password || "");
    await s.page.click("#submit");
  }
  return { info, how: await Promise.any([left, refused]) };
}

async function run(browser, sc) {
  const t0 = Date.now();
  const s = await fg.newSession(browser, { locale: sc.locale || "en-US" });
  try {
    await page_routes(s);
    if (sc.authenticator !== false)
      await fg.addAuthenticator(s, { uv: sc.uv !== false, presence: sc.presence !== false });
    const stylesheets = [];
    let callback = null, idp_page = null;
    s.page.on("response", (r) => {
      if (r.request().resourceType() === "stylesheet") stylesheets.push({ url: r.url(), status: r.status() });
    });
    s.page.on("request", (r) => {
      if (!r.isNavigationRequest() || r.frame() !== s.page.mainFrame()) return;
      const u = new URL(r.url());
      if (u.origin === sc.front && u.pathname.endsWith("/upstream/callback") && callback === null) callback = u.href;
    });
    await s.page.goto(sc.url, { waitUntil: "load" });
    if (sc.idp) {
      const idp = new URL(sc.idp).origin;
      await s.page.waitForURL((u) => u.origin === idp || u.origin === sc.front, { waitUntil: "load" });
      if (new URL(s.page.url()).origin === idp) {
        const r = await providerLogin(s, sc, idp);
        idp_page = r.info;
        if (r.how === "refused")
          return { outcome: "idp_error", idp_page, text: (await fg.pageInfo(s)).text, ms: Date.now() - t0 };
      }
    }
    const doc = s.documents[s.documents.length - 1] || {};
    const info = await fg.pageInfo(s);
    const base = { status: doc.status || 0, url: s.page.url(), title: info.title, lang: info.lang,
      replies: s.replies, idp_page, callback, stylesheets };
    if ((await s.page.locator("#enrol").count()) === 0)
      return { outcome: "page", text: info.text, ...base, ms: Date.now() - t0 };
    await s.page.waitForSelector("#go:not([disabled])", { state: "attached" });
    const focus = await s.page.evaluate(() => (document.activeElement || {}).id || "");
    if (sc.password !== undefined && sc.password !== null) {
      if (focus !== "password") throw new Error(`focus is on ${focus}, not the password`);
      await s.page.keyboard.type(sc.password);
    }
    await s.page.keyboard.press("Enter");
    const done = s.page.locator("#done");
    const error = s.page.locator("#error").filter({ hasText: /\S/ });
    const r = await Promise.any([
      done.waitFor({ state: "visible" }).then(async () => ({ outcome: "done", text: (await done.textContent()).trim() })),
      error.waitFor({ state: "visible" }).then(async () => ({ outcome: "error", text: (await error.textContent()).trim() })),
    ]);
    if (sc.shot) await fg.screenshot(s, sc.shot);
    const creds = s.authenticator ? await fg.credentials(s) : [];
    if (r.outcome === "done" && sc.save && creds.length === 1) {
      const c = creds[0];
      writeFileSync(sc.save, JSON.stringify({
        credential_id: Buffer.from(c.credentialId, "base64").toString("base64url"),
        rp_id: c.rpId,
        private_key: c.privateKey,
        user_handle: c.userHandle ? Buffer.from(c.userHandle, "base64").toString("base64url") : null,
        sign_count: c.signCount,
      }) + "\n");
    }
    return { ...r, ...base, credentials: creds.length, ms: Date.now() - t0 };
  } finally {
    await fg.closeSession(s).catch(() => {});
  }
}

// the front's JSON replies to the page, for the test to read
async function page_routes(s) {
  await s.page.route(
    (u) => /\/invite\/(begin|finish)$/.test(u.pathname),
    async (route) => {
      const r = await route.fetch();
      const text = await r.text();
      const entry = { path: new URL(route.request().url()).pathname, status: r.status(), body: null };
      try {
        entry.body = JSON.parse(text);
      } catch {}
      s.replies.push(entry);
      return route.fulfill({ response: r, body: text });
    },
  );
}

const browser = await fg.launchBrowser(
  opt["idp-spki"] ? [`--ignore-certificate-errors-spki-list=${opt["idp-spki"]}`] : [],
);
await fg.serveLines((sc) => run(browser, sc));
await browser.close();
