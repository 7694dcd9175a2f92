#!/usr/bin/env node
// The browser for tests/gate/t/44-synapse-sso.t: a real Synapse's single
// sign-on through fido2gate, in Debian's Chromium with a WebAuthn virtual
// authenticator (lib.mjs). One headless Chromium for the whole test; for
// each line on stdin (a JSON scenario) one run in a fresh browser context,
// answered by one JSON line on stdout. The shell test drives it as a
// coprocess.
//
// A scenario:
//   {"start": URL,        Synapse's /login/sso/redirect/... (a login) or
//                         /auth/m.login.sso/fallback/web?session=... (a
//                         re-authentication: its "Continue" link is
//                         followed to the provider)
//    "front": ORIGIN,     fido2gate's web front (http://localhost:PORT)
//    "synapse": ORIGIN,   the homeserver (http://127.0.0.1:PORT)
//    "client": URL,       the client's redirectUrl prefix
//                         (http://127.0.0.1:PORT/): the driver serves a
//                         page on --client-port PORT, and keeps the
//                         loginToken the browser arrives with
//    "user": NAME, "keys": [FILE...], "key_as": [[FILE, ID_FILE]...],
//    "authenticator": true, "uv": true, "presence": true,
//    "downgrade_uv": false  as in driver.mjs (the keys' sign counts are
//                         written back to their files after each run)
//    "hold_page": false,  once the login page is ready, print
//                         {"held": "page"} and wait for a line on stdin
//                         before typing the user name
//    "hold_finish": false, once the key has signed, print {"held":
//                         "finish"} and wait for a line on stdin before the
//                         assertion goes to the front's /login/finish
//    "hold_callback": false}  when the browser is sent to Synapse's OIDC
//                         callback, print {"held": "callback", "code",
//                         "state", "url"} and wait for a line on stdin:
//                         "continue" lets the request go to Synapse,
//                         "drop" answers it here (Synapse never sees the
//                         code)
//
// Every navigation to Synapse's callback is recorded ("callbacks": the
// codes it carried), whatever "hold_callback" says.
//
// First of all the driver prints {"ready": true} (Chromium is up, the
// client's page served). For each scenario, the answer:
//   {"outcome": "client"|"synapse"|"error"|"driver_error", "url",
//   "status", "text", "login_token", "callbacks": [{code, state, iss,
//   error, url}], "replies" (the front's JSON replies to the page),
//   "documents" (every page the browser loaded, with its status),
//   "front_uv", "sso_page": the confirmation page's text
//   (re-authentication), "ms"}.
// "client": the browser reached the client's redirectUrl (login_token is
// its loginToken); "synapse": it ended on a Synapse page (an error, or
// the re-authentication's "Thank you"); "error": the login page showed
// an error.

import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import * as fg from "./lib.mjs";

const { values: opt } = parseArgs({ options: { "client-port": { type: "string" } } });

// stdin, one line at a time, for the main loop and for held requests
const lines = [];
const waiters = [];
let eof = false;
createInterface({ input: process.stdin, crlfDelay: Infinity })
  .on("line", (l) => {
    if (waiters.length) waiters.shift()(l);
    else lines.push(l);
  })
  .on("close", () => {
    eof = true;
    while (waiters.length) waiters.shift()(null);
  });
function nextLine() {
  if (lines.length) return Promise.resolve(lines.shift());
  if (eof) return Promise.resolve(null);
  return new Promise((resolve) => waiters.push(resolve));
}
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// A request handler that fails (lib.mjs's route.fetch when the front
// resets a kept-alive connection) must not take the whole driver down:
// that run then ends on its own timeout, the next ones go on.
process.on("unhandledRejection", (e) => {
  process.stderr.write(`synapse_sso.mjs: unhandled: ${e && e.stack ? e.stack : e}\n`);
});

async function run(browser, sc) {
  const t0 = Date.now();
  const s = await fg.newSession(browser, { locale: "en-US" });
  const callbacks = [];
  let loginToken = null;
  try {
    await fg.scenarioKeys(s, sc);
    if (sc.downgrade_uv) fg.downgradeUV(s);

    // Synapse's callback: the code the provider sent the browser back with
    const synapse = new URL(sc.synapse);
    await s.page.route(
      (u) => u.origin === synapse.origin && u.pathname === "/_synapse/client/oidc/callback",
      async (route) => {
        const u = new URL(route.request().url());
        const cb = {
          code: u.searchParams.get("code"),
          state: u.searchParams.get("state"),
          iss: u.searchParams.get("iss"),
          error: u.searchParams.get("error"),
          url: u.href,
        };
        callbacks.push(cb);
        let what = "continue";
        if (sc.hold_callback) {
          say({ held: "callback", ...cb });
          what = ((await nextLine()) || "drop").trim();
        }
        if (what === "drop")
          return route.fulfill({
            status: 200,
            contentType: "text/html",
            body: "<!doctype html><title>dropped</title><p>dropped by the test</p>",
          });
        return route.continue();
      },
    );
    // the page's assertion on its way to the front, held on request
    if (sc.hold_finish)
      await s.page.route(
        (u) => u.origin === sc.front && u.pathname.endsWith("/login/finish"),
        async (route) => {
          say({ held: "finish" });
          await nextLine();
          return route.fallback(); // on to lib.mjs's handler, then the front
        },
      );
    // the client (Element, say): its redirectUrl, served by this driver
    // (a route would not see it: Synapse reaches it by a redirect, which
    // playwright does not intercept)
    const clientSeen = s.page
      .waitForURL((u) => u.href.startsWith(sc.client), { waitUntil: "load" })
      .then(() => {
        const u = new URL(s.page.url());
        loginToken = u.searchParams.get("loginToken");
        return u.href;
      });
    clientSeen.catch(() => {});

    let sso_page = null;
    if (new URL(sc.start).pathname.includes("/auth/m.login.sso/fallback/web")) {
      // re-authentication: Synapse's "Confirm it's you" page, then its link
      await s.page.goto(sc.start, { waitUntil: "load" });
      sso_page = await s.page.evaluate(() => document.body.innerText);
      const link = s.page.locator(`a[href^="${sc.front}/authorize"]`);
      await link.click();
      await s.page.waitForURL(
        (u) => u.origin === sc.front && u.pathname.endsWith("/authorize"),
      );
      await s.page.waitForSelector("#go:not([disabled])", { state: "attached" });
    } else {
      await fg.openLogin(s, sc.start, sc.front);
    }
    if (sc.hold_page) {
      say({ held: "page", url: s.page.url() });
      await nextLine();
    }
    const ended = fg.outcome(s, sc.front);
    await fg.keyboardLogin(s, { user: sc.user });
    const r = await ended;
    let outcome = r.kind;
    let url = r.url || null;
    let text = r.text;
    let status = r.status;
    if (r.kind === "redirect") {
      // left the front: wait for where the browser settles, the client or
      // a Synapse page (Synapse answers its callback with a redirect to
      // the client, or with a page of its own)
      const settled = await Promise.race([
        clientSeen.then((href) => ({ kind: "client", href })),
        s.page
          .waitForURL((u) => u.origin === synapse.origin, { waitUntil: "load" })
          .then(() => ({ kind: "synapse" })),
      ]);
      if (settled.kind === "client") {
        outcome = "client";
        url = settled.href;
      } else {
        // a Synapse page: its final URL and text
        await s.page.waitForLoadState("load");
        outcome = s.page.url().startsWith(sc.client) ? "client" : "synapse";
        url = s.page.url();
        const doc = s.documents[s.documents.length - 1] || {};
        status = doc.status || 0;
        text = await s.page.evaluate(() => (document.body ? document.body.innerText : ""));
      }
    }
    // the keys' counters where this run left them (driver.mjs does the
    // same): the next fresh browser must not look like a clone
    await fg.saveSignCounts(s, sc.keys);
    return {
      outcome,
      url,
      status,
      text,
      login_token: loginToken,
      callbacks,
      replies: s.replies,
      front_uv: s.frontUV ?? null,
      documents: s.documents,
      sso_page,
      ms: Date.now() - t0,
    };
  } finally {
    await fg.closeSession(s).catch(() => {});
  }
}

// the client's redirectUrl: any GET on 127.0.0.1:--client-port gets a page
if (opt["client-port"]) {
  const server = createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>client</title><p>signed in</p>");
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(opt["client-port"]), "127.0.0.1", resolve);
  });
  server.unref();
}
const browser = await fg.launchBrowser();
say({ ready: true });
for (;;) {
  const line = await nextLine();
  if (line === null) break;
  if (line.trim() === "") continue;
  let result;
  try {
    result = await run(browser, JSON.parse(line));
  } catch (e) {
    result = { outcome: "driver_error", error: String(e.stack || e) };
  }
  say(result);
}
await browser.close();
