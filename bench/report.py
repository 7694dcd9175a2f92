#!/usr/bin/env python3
"""bench/report.py JSON MD DAT: the results as a Markdown table with each
target, and a data file of margins for gnuplot (1 or more: target met)."""
import json
import sys

src, md, dat = sys.argv[1:4]
r = json.load(open(src))

open_rate = r.get("agent_open_rate", 0)
# key, what it measures, target, direction
TARGETS = [
    ("verify_vs_openssl_es256", "ES256 verifier / raw OpenSSL", 0.8, ">="),
    ("verify_vs_openssl_eddsa", "EdDSA verifier / raw OpenSSL", 0.8, ">="),
    ("verify_vs_simplewebauthn", "ES256 verifier / @simplewebauthn/server", 5, ">="),
    ("agent_c1_vs_verify", "agent logins/s (1 client) / verifier rate", 0.5, ">="),
    ("agent_p99_ms_c64", "p99 login latency, 64 clients, closed loop (ms)", 5, "<="),
    ("agent_open_p99_ms", f"p99 login latency at {open_rate:,} logins/s offered, open loop (ms)", 5, "<="),
    ("agent_status_max_ms_c64", "worst status answer, 64 clients logging in (ms)", 100, "<="),
    ("agent_rss_growth_kib_load", "agent RSS growth over the load runs (KiB)", 8192, "<="),
    ("pam_vs_pam_u2f", "pam_fido2gate / pam_u2f login time", 1.0, "<="),
    ("store_scale_1m_vs_10", f"login time, {r['store_users_big']:,} users / 10 users", 1.5, "<="),
    ("agent_rss_mib_100k_pending", "agent RSS with 100k pending (MiB)", 64, "<="),
    ("web_login_ratio", "web login ceremony: fido2gate/peer logins/s ratio", 3, ">="),
    ("web_front_rss_mib_c64", "front RSS at 64 clients (MiB)", 32, "<="),
    # PostgreSQL (bench/store_pg.sh): None, a ratio shown with no target
    ("store_pg_vs_sqlite_auth", "logins/s, 64 clients: PostgreSQL / SQLite", None, None),
    ("store_pg_vs_sqlite_p99", "p99 login latency, 64 clients: PostgreSQL / SQLite", None, None),
    ("store_pg_vs_sqlite_ms_c1", "login time, one client, 10 users: PostgreSQL / SQLite", None, None),
    ("store_pg2_vs_pg_auth", "logins/s, 64 clients: two agents / one on PostgreSQL", None, None),
    ("store_pg2_vs_pg_p99", "p99 login latency, 64 clients: two agents / one on PostgreSQL", None, None),
    ("store_pg_scale_1m_vs_10",
     f"PostgreSQL login time, {r.get('store_pg_users_big', r['store_users_big']):,} users / 10 users", 1.5, "<="),
]
r["agent_c1_vs_verify"] = round(r["agent_auth_per_s_c1"] / r["verify_es256_per_s"], 3)
# one client on 10 users: section 8's PostgreSQL against section 5's SQLite
if r.get("auth_ms_pg_users_10") and r.get("auth_ms_users_10"):
    r["store_pg_vs_sqlite_ms_c1"] = round(r["auth_ms_pg_users_10"] / r["auth_ms_users_10"], 3)
# an open-loop latency counts only if every login offered was run and allowed
open_whole = not r.get("agent_open_missed") and not r.get("agent_open_errors")
# a web login rate counts only if every login of every run went through
web_whole = not r.get("web_errors")

MAX_MARGIN = 10  # a bar for a value of 0 (no growth, say) stays on the chart
rows, margins = [], []
for key, what, target, way in TARGETS:
    want = "-" if target is None else f"{way} {target}"
    if key not in r:  # results from before this measure existed
        why = "not measured"
        if key.startswith("store_pg") and "store_pg_skipped" in r:
            why = f"skipped: {r['store_pg_skipped']}"
        rows.append(f"| {what} | `{key}` | {why} | {want} | - |")
        continue
    v = r[key]
    if target is None:
        rows.append(f"| {what} | `{key}` | {v} | - | - |")
        continue
    met = v >= target if way == ">=" else v <= target
    if way == ">=":
        margin = v / target
    else:
        margin = target / v if v > 0 else MAX_MARGIN
    note = ""
    if key.startswith("agent_open_") and not open_whole:
        met, margin = False, 0
        note = " (logins missed or refused: see below)"
    if key == "web_login_ratio" and not web_whole:
        met, margin = False, 0
        note = f" ({r['web_errors']} logins failed: see below)"
    rows.append(f"| {what} | `{key}` | {v} | {way} {target} | {'yes' if met else '**no**'}{note} |")
    margins.append((key, min(margin, MAX_MARGIN)))

open_md = ""
if "agent_open_p99_ms" in r:
    open_md = (
        f"Open loop: {open_rate:,} logins/s offered for {r['agent_open_seconds']} s "
        f"({open_rate * r['agent_open_seconds']:,} logins, each timed from when it "
        f"was due, started whether or not earlier ones had ended): "
        f"{r['agent_open_logins_per_s']} logins/s achieved, "
        f"p50 {r['agent_open_p50_ms']} ms, p99 {r['agent_open_p99_ms']} ms, "
        f"p99.9 {r['agent_open_p999_ms']} ms, max {r['agent_open_max_ms']} ms; "
        f"{r['agent_open_late']} started over 1 ms late (no connection free), "
        f"{r['agent_open_missed']} missed, {r['agent_open_errors']} errors.\n\n")

web_md = ""
if "web_login_ratio" in r:
    web_md = (
        "Web login ceremony (bench/web_login.sh): GET /authorize with PKCE, the login "
        "page, login/begin, an ES256 assertion, login/finish, the redirect, /token "
        "(client_secret_basic) and the id_token checked against the JWKS, each "
        "virtual user logging in as itself, over and over; fido2gate (fido2gated + "
        "fido2gate-web) against npm's oidc-provider with @simplewebauthn/server "
        "(bench/peers/peer_server.mjs), one load client (bench/peers/ceremony.mjs) "
        "for both. The ratio compares each one's best rate.\n\n"
        "| clients | fido2gate logins/s | p50 ms | p99 ms | peer logins/s | p50 ms | p99 ms |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n")
    for c in (1, 8, 64):
        web_md += (
            f"| {c} | {r[f'web_fg_logins_per_s_c{c}']} | {r[f'web_fg_p50_ms_c{c}']} "
            f"| {r[f'web_fg_p99_ms_c{c}']} | {r[f'web_peer_logins_per_s_c{c}']} "
            f"| {r[f'web_peer_p50_ms_c{c}']} | {r[f'web_peer_p99_ms_c{c}']} |\n")
    web_md += (
        f"\nfido2gate-web's RSS at the end of the 64-client run "
        f"{r['web_front_rss_mib_c64']} MiB (its peak over every run {r['web_front_peak_mib']} MiB); "
        f"the peer's {r['web_peer_rss_mib_c64']} MiB. "
        f"Server CPU time per login over every run: fido2gate "
        f"{r['web_fg_cpu_ms_per_login']} ms (agent and front), the peer "
        f"{r['web_peer_cpu_ms_per_login']} ms ({r['web_cpu_ratio']}x); the load "
        f"client shares the same cores. {r['web_errors']} logins failed.\n\n")

pg_md = ""
if "store_pg_auth_per_s_c64" in r:
    pg_md = (
        "Stores (bench/store_pg.sh): fg-load, 64 clients in a closed loop for "
        "as long as section 3's runs, each case on a fresh store after a 2 s "
        "warm-up and a CHECKPOINT; PostgreSQL 15 on a Unix socket with its default settings "
        "(`synchronous_commit = on`: every commit waits for the disk, where "
        "SQLite's login commits do not); the two agents "
        "share one database, 32 clients each at once, and their p99 is the "
        "worse of the two agents' (the p99 of all their logins is no higher).\n\n"
        "| store | logins/s | p99 ms |\n| --- | --- | --- |\n"
        f"| SQLite, one agent | {r['store_sqlite_auth_per_s_c64']} | {r['store_sqlite_p99_ms_c64']} |\n"
        f"| PostgreSQL, one agent | {r['store_pg_auth_per_s_c64']} | {r['store_pg_p99_ms_c64']} |\n"
        f"| PostgreSQL, two agents | {r['store_pg2_auth_per_s_c64']} | {r['store_pg2_p99_ms_c64']} |\n"
        f"| PostgreSQL, one agent, `synchronous_commit = off` | "
        f"{r['store_pgasync_auth_per_s_c64']} | {r['store_pgasync_p99_ms_c64']} |\n\n"
        f"One client, ms per login on PostgreSQL: {r['auth_ms_pg_users_10']} with 10 users, "
        f"{r['auth_ms_pg_users_1m']} with {r['store_pg_users_big']:,} "
        f"(users and credentials filled with SQL, then ANALYZE: "
        f"{r.get('store_pg_fill_seconds', '?')} s for the latter).\n\n")
elif "store_pg_skipped" in r:
    pg_md = f"PostgreSQL measures skipped: {r['store_pg_skipped']}.\n\n"
if "pg_failover_kill_to_login_s" in r:
    pg_md += (
        "Failover (bench/pg_failover.sh): a primary and a synchronous "
        "standby, an agent on both hosts (target_session_attrs=read-write) "
        "logging in every 10 ms; the primary killed with SIGKILL, the standby "
        f"promoted {r['pg_failover_promote_delay_s']} s later. Median from "
        f"the kill to the first accepted login: {r['pg_failover_kill_to_login_s']} s; "
        f"from the promotion: {r['pg_failover_promote_to_login_s']} s.\n\n")

raw = [k for k in sorted(r) if k not in ("date", "machine", "quick")]
with open(md, "w") as f:
    f.write(f"# fido2gate benchmarks\n\n{r['date']}, {r['machine']}"
            f"{' (quick run)' if r['quick'] else ''}. Every number here was "
            "measured in this one run, peers included.\n\n"
            "| measure | key | value | target | met |\n| --- | --- | --- | --- | --- |\n")
    f.write("\n".join(rows) + "\n\n" + open_md + web_md + pg_md + "All keys:\n\n| key | value |\n| --- | --- |\n")
    f.write("\n".join(f"| `{k}` | {r[k]} |" for k in raw) + "\n\n![ratios](latest.png)\n")
with open(dat, "w") as f:
    for i, (k, m) in enumerate(margins):
        f.write(f'{i} "{k}" {m:.3f}\n')
