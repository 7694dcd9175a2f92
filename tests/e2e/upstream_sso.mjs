#!/usr/bin/env node
// The browser for tests/gate/t/46-upstream.t: a login whose first factor is
// the organisation's provider (upstream_idp.mjs, npm's oidc-provider) and
// whose second is the key, in Debian's Chromium with a WebAuthn virtual
// authenticator (lib.mjs). One Chromium for the whole test; for each line
// on stdin (a JSON scenario) one run in a fresh browser context, answered
// by one JSON line on stdout.
//
// A scenario:
//   {"start": URL,      where the login starts: the client's login (the
//                       Matrix homeserver's SSO redirect, or a relying
//                       party's /login), which sends the browser to
//                       fido2gate's /authorize, and from there to the
//                       provider
//    "front": ORIGIN,   fido2gate's web front
//    "idp": ORIGIN,     the provider
//    "client": URL,     the prefix of the URL where a successful login
//                       ends (the relying party's callback, or the Matrix
//                       client's redirectUrl, which this driver serves on
//                       --client-port)
//    "login": NAME, "password": TEXT   typed on the provider's own page
//    "keys": [FILE...], "key_as": [[FILE, ID_FILE]...],
//    "authenticator": true, "uv": true, "presence": true   as in driver.mjs
//    "locale": "en-US", "shot": FILE (the key page, once ready)}
//
// The answer: {"outcome", "idp_page", "front_page", "login_page",
// "callback" (the URL the provider sent the browser back to fido2gate
// with), "navigations" (every URL the main frame was sent to, redirects
// included), "url", "status", "text", "login_token", "replies",
// "documents", "ms"}, outcome being
//   "client"       the browser reached the client (text: its page);
//   "front_error"  fido2gate answered the provider's return, or the
//                  authorization request, with an error page (front_page:
//                  {title, detail, status});
//   "key_error"    the key step's page showed an error (text);
//   "idp_error"    the provider's own page refused the password;
//   "elsewhere"    anything else (url, text).

import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import * as fg from "./lib.mjs";

const { values: opt } = parseArgs({
  options: { "client-port": { type: "string" }, "idp-spki": { type: "string" } },
});
process.on("unhandledRejection", (e) => {
  process.stderr.write(`upstream_sso.mjs: unhandled: ${e && e.stack ? e.stack : e}\n`);
});

const bodyText = (page) =>
  page.evaluate(() => (document.body ? document.body.innerText : "")).catch(() => "");

// the front's error page: its heading, its detail line, its status
async function frontPage(s) {
  const doc = s.documents[s.documents.length - 1] || {};
  const info = await s.page.evaluate(() => ({
    title: document.title,
    heading: (document.querySelector("h1") || {}).textContent || "",
    detail: (document.querySelector(".detail") || {}).textContent || "",
    text: document.body ? document.body.innerText : "",
  }));
  return { ...info, status: doc.status || 0, url: s.page.url() };
}

async function run(browser, sc) {
  const t0 = Date.now();
  const s = await fg.newSession(browser, { locale: sc.locale || "en-US" });
  const out = { outcome: "elsewhere", idp_page: null, front_page: null, login_page: null, callback: null };
  try {
    await fg.scenarioKeys(s, sc);
    out.navigations = [];
    s.page.on("request", (r) => {
      if (!r.isNavigationRequest() || r.frame() !== s.page.mainFrame()) return;
      const u = new URL(r.url());
      out.navigations.push(u.href);
      if (u.origin === sc.front && u.pathname.endsWith("/upstream/callback")) out.callback = u.href;
    });
    const idp = new URL(sc.idp).origin;
    await s.page.goto(sc.start, { waitUntil: "load" });
    await s.page.waitForURL((u) => u.origin === idp || u.origin === sc.front, { waitUntil: "load" });

    // the provider's own login page
    if (new URL(s.page.url()).origin === idp) {
      await s.page.waitForSelector("#login");
      out.idp_page = { title: await s.page.title(), url: s.page.url() };
      await s.page.fill("#login", sc.login || "");
      await s.page.fill("#password", sc.password || "");
      const left = s.page
        .waitForURL((u) => u.origin !== idp, { waitUntil: "load" })
        .then(() => "left");
      const refused = s.page
        .locator("#idp-error")
        .waitFor({ state: "visible" })
        .then(() => "refused");
      left.catch(() => {});
      refused.catch(() => {});
      await s.page.click("#submit");
      if ((await Promise.any([left, refused])) === "refused") {
        out.outcome = "idp_error";
        out.text = await bodyText(s.page);
        return out;
      }
    }
    if (new URL(s.page.url()).origin !== sc.front) {
      out.url = s.page.url();
      out.text = await bodyText(s.page);
      return out;
    }

    // back at fido2gate: its key page, or its refusal
    if ((await s.page.locator("#login").count()) === 0) {
      out.outcome = "front_error";
      out.front_page = await frontPage(s);
      return out;
    }
    await s.page.waitForSelector("#go:not([disabled])", { state: "attached" });
    out.login_page = {
      ...(await fg.pageInfo(s)),
      url: s.page.url(),
      user_field: (await s.page.locator("#user").count()) > 0,
      focus: await s.page.evaluate(() => (document.activeElement || {}).id || ""),
    };
    if (sc.shot) await fg.screenshot(s, sc.shot);
    const ended = fg.outcome(s, sc.front);
    await s.page.keyboard.press("Enter"); // the button has focus
    const r = await ended;
    out.replies = s.replies;
    if (r.kind === "error") {
      out.outcome = "key_error";
      out.text = r.text;
      return out;
    }
    // left the front: on to where the client ends up
    try {
      await s.page.waitForURL((u) => u.href.startsWith(sc.client), { waitUntil: "load" });
      out.outcome = "client";
      const u = new URL(s.page.url());
      out.login_token = u.searchParams.get("loginToken");
    } catch {
      out.outcome = "elsewhere";
    }
    const doc = s.documents[s.documents.length - 1] || {};
    out.url = s.page.url();
    out.status = doc.status || 0;
    out.text = await bodyText(s.page);
    return out;
  } finally {
    out.documents = s.documents;
    out.replies = s.replies;
    out.ms = Date.now() - t0;
    await fg.saveSignCounts(s, sc.keys).catch(() => {});
    await fg.closeSession(s).catch(() => {});
  }
}

// the Matrix client's redirectUrl: a page, so that the browser settles
if (opt["client-port"]) {
  createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end("<!DOCTYPE html><title>Matrix client</title><p>signed in</p>\n");
  }).listen(Number(opt["client-port"]), "127.0.0.1");
}

// lib.mjs's Chromium, trusting the provider's test certificate (its SPKI
// hash, --idp-spki) and no other
const browser = await chromium.launch({
  executablePath: fg.CHROMIUM,
  headless: true,
  timeout: fg.TIMEOUT_MS,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ...(opt["idp-spki"] ? [`--ignore-certificate-errors-spki-list=${opt["idp-spki"]}`] : []),
  ],
});
process.stdout.write(JSON.stringify({ ready: true }) + "\n");
await fg.serveLines((sc) => run(browser, sc));
await browser.close();
process.exit(0);
