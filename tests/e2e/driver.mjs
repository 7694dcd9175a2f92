#!/usr/bin/env node
// The browser for a whole test: one headless Chromium, and for each line
// on stdin (a JSON scenario) one login through fido2gate's login page in
// a fresh browser context with its own virtual authenticator; for each,
// one JSON line on stdout. The shell test drives it as a coprocess, so
// that between logins it can restart the agent, read the audit log, or
// change what a proxy does.
//
// A scenario:
//   {"start": URL,        where the login starts: a relying party's page
//                         that sends the browser to the front's /authorize
//    "front": ORIGIN,     the front's origin (http://localhost:PORT)
//    "user": NAME,        typed into the page
//    "password": TEXT,    typed when the page has a password field
//    "keys": [FILE...],   fg-webkey's JSON files: the authenticator's
//                         credentials (their sign_count is written back
//                         after the login, as a real key keeps its own)
//    "key_as": [[FILE, ID_FILE]...]  FILE's private key under ID_FILE's
//                         credential ID: a key posing as an enrolled one
//    "authenticator": true,  false: no authenticator at all
//    "uv": true,          the key verifies its user (PIN)
//    "presence": true,    the user touches the key when asked
//    "downgrade_uv": false,  the page asks the key for no verification
//                         whatever the agent said (lib.mjs downgradeUV)
//    "locale": "en-US",
//    "shot": FILE,        a screenshot of the login page once ready
//    "shot_after": FILE}  and once the login has ended
//
// The answer: {"outcome": "redirect"|"error"|"driver_error", "url",
// "status", "text", "login_page": {lang, title, text}, "replies": [the
// front's JSON replies to the page], "front_uv", "sign_counts", "ms"}.
// "redirect": the browser left the front (url, status and text are the
// first page it loaded elsewhere); "error": the page showed an error
// (text); "driver_error": this driver failed (error).

import * as fg from "./lib.mjs";

async function run(browser, sc) {
  const t0 = Date.now();
  const s = await fg.newSession(browser, { locale: sc.locale || "en-US" });
  try {
    await fg.scenarioKeys(s, sc);
    if (sc.downgrade_uv) fg.downgradeUV(s);
    await fg.openLogin(s, sc.start, sc.front);
    const login_page = await fg.pageInfo(s);
    if (sc.shot) await fg.screenshot(s, sc.shot);
    const ended = fg.outcome(s, sc.front);
    await fg.keyboardLogin(s, { user: sc.user, password: sc.password ?? null });
    const r = await ended;
    if (sc.shot_after) await fg.screenshot(s, sc.shot_after);
    const creds = await fg.saveSignCounts(s, sc.keys);
    return {
      outcome: r.kind,
      url: r.url || null,
      status: r.status,
      text: r.text,
      login_page,
      replies: s.replies,
      front_uv: s.frontUV ?? null,
      sign_counts: creds.map((c) => c.signCount),
      ms: Date.now() - t0,
    };
  } finally {
    await fg.closeSession(s).catch(() => {});
  }
}

const browser = await fg.launchBrowser();
await fg.serveLines((sc) => run(browser, sc));
await browser.close();
