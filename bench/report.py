#!/usr/bin/env python3
"""bench/report.py JSON MD DAT: the results as a Markdown table with each
target, and a data file of margins for gnuplot (1 or more: target met)."""
import json
import sys

src, md, dat = sys.argv[1:4]
r = json.load(open(src))

# key, what it measures, target, direction
TARGETS = [
    ("verify_vs_openssl_es256", "ES256 verifier / raw OpenSSL", 0.8, ">="),
    ("verify_vs_openssl_eddsa", "EdDSA verifier / raw OpenSSL", 0.8, ">="),
    ("verify_vs_simplewebauthn", "ES256 verifier / @simplewebauthn/server", 5, ">="),
    ("agent_c1_vs_verify", "agent logins/s (1 client) / verifier rate", 0.5, ">="),
    ("agent_p99_ms_c64", "p99 login latency, 64 clients (ms)", 5, "<="),
    ("pam_vs_pam_u2f", "pam_fido2gate / pam_u2f login time", 1.0, "<="),
    ("store_scale_1m_vs_10", f"login time, {r['store_users_big']:,} users / 10 users", 1.5, "<="),
    ("agent_rss_mib_100k_pending", "agent RSS with 100k pending (MiB)", 64, "<="),
]
r["agent_c1_vs_verify"] = round(r["agent_auth_per_s_c1"] / r["verify_es256_per_s"], 3)

rows, margins = [], []
for key, what, target, way in TARGETS:
    v = r[key]
    met = v >= target if way == ">=" else v <= target
    margin = v / target if way == ">=" else (target / v if v else 0)
    rows.append(f"| {what} | `{key}` | {v} | {way} {target} | {'yes' if met else '**no**'} |")
    margins.append((key, margin))

raw = [k for k in sorted(r) if k not in ("date", "machine", "quick")]
with open(md, "w") as f:
    f.write(f"# fido2gate benchmarks\n\n{r['date']}, {r['machine']}"
            f"{' (quick run)' if r['quick'] else ''}. Every number here was "
            "measured in this one run, peers included.\n\n"
            "| measure | key | value | target | met |\n| --- | --- | --- | --- | --- |\n")
    f.write("\n".join(rows) + "\n\nAll keys:\n\n| key | value |\n| --- | --- |\n")
    f.write("\n".join(f"| `{k}` | {r[k]} |" for k in raw) + "\n\n![ratios](latest.png)\n")
with open(dat, "w") as f:
    for i, (k, m) in enumerate(margins):
        f.write(f'{i} "{k}" {m:.3f}\n')
