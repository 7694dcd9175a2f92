/*
 * Every setting of fido2gate.conf, once: its section, key, type, range or
 * choices, default and a line of documentation. The parser (config.c)
 * finds each line's setting here, --check-config prints the effective
 * values from here, and the build makes fido2gate.conf(5)'s SETTINGS and
 * the shipped etc/fido2gate.conf from here (man/fg-settings.c). A setting
 * that is not in this table does not exist.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* A field of the section's object; GIVEN: its "was set" flag. */
#define MAIN(m)                                                                \
	.offset = offsetof(struct fg_config, m),                               \
	.size = sizeof(((struct fg_config *)0)->m)
#define GATE(m) MAIN(gate.m)
#define CLIENT(m)                                                              \
	.offset = offsetof(struct fg_oidc_client, m),                          \
	.size = sizeof(((struct fg_oidc_client *)0)->m)
#define UPSTREAM(m)                                                            \
	.offset = offsetof(struct fg_upstream, m),                             \
	.size = sizeof(((struct fg_upstream *)0)->m)
#define GIVEN(m) .given = 1 + offsetof(struct fg_config, m)

static const struct fg_setting_type fg_type_store;

const struct fg_setting fg_settings[] = {
    /* [relying_party]: the WebAuthn relying party */
    {"relying_party", "id", &fg_type_rp_id, MAIN(rp_id),
	.def_doc = "the host's fully qualified name",
	.doc = "The relying party ID every credential is bound to: a "
	       "domain name. Keys enrolled under one ID do not work under "
	       "another. For the homeserver gate, the organisation's "
	       "domain, so that one enrolment serves PAM and the browser."},
    {"relying_party", "name", &fg_type_text, MAIN(rp_name), .def = "fido2gate",
	.doc = "The name some keys show at enrolment."},
    {"relying_party", "origins", &fg_type_origins, .repeat = true,
	.doc = "More origins an assertion may come from, separated by "
	       "spaces (the web origins of the browser login, such as "
	       "https://matrix.example.org). pam://ID is always "
	       "accepted."},

    /* [policy] */
    {"policy", "user_verification", &fg_type_uv, MAIN(uv),
	.values = "required|preferred|discouraged", .def = "preferred",
	.doc = "required: every assertion and enrolment must carry user "
	       "verification (a PIN), and a key without a PIN is "
	       "refused. preferred: the PIN is asked for when the key has "
	       "one, and a credential enrolled with it needs it from then "
	       "on. discouraged: no PIN is asked for."},
    {"policy", "attestation", &fg_type_attestation, MAIN(attest.require),
	.values = "optional|required|hardware", .def = "optional",
	.doc = "What a key must prove about itself at enrolment. optional: "
	       "any statement that verifies, or none. required: refuse a key "
	       "that gives no attestation (fmt \"none\"). hardware: an "
	       "attestation certificate (packed with x5c, or fido-u2f); "
	       "self and none attestation are refused."},
    {"policy", "attestation_roots", &fg_type_path, MAIN(attestation_roots),
	.def_doc = "none, and no chain is checked",
	.doc = "A PEM file, or a folder of PEM files, of the roots an "
	       "attestation certificate must chain to: when set, a packed "
	       "x5c or fido-u2f statement whose certificate does not chain "
	       "to one of them (through the statement's own intermediates, "
	       "each valid at enrolment) is refused. A certificate in it is "
	       "trusted as it is, root or intermediate. Each file must "
	       "belong to root or the agent's user and be writable by no "
	       "one else. Self and none attestation have no chain: set "
	       "attestation = hardware to refuse them too."},
    {"policy", "aaguid_allow", &fg_type_aaguids, MAIN(attest.allow),
	.repeat = true, .def_doc = "every AAGUID",
	.doc = "The authenticator models (AAGUIDs, such as "
	       "cb69481e-8ff7-4039-93ec-0a2729a154a8) that may enrol, "
	       "separated by spaces; a fido-u2f key has none and counts as "
	       "00000000-0000-0000-0000-000000000000. Without a verified "
	       "certificate chain the AAGUID is the key's own claim."},
    {"policy", "aaguid_deny", &fg_type_aaguids, MAIN(attest.deny),
	.repeat = true,
	.doc = "AAGUIDs that may never enrol, separated by spaces; wins "
	       "over aaguid_allow."},

    /* [limits] */
    {"limits", "challenge_timeout", &fg_type_seconds, MAIN(challenge_timeout),
	.min = 1, .max = 600, .def = "60",
	.doc = "How long a challenge stays valid: the time to touch the "
	       "key. Must be below idle_timeout."},
    {"limits", "max_pending", &fg_type_number, MAIN(max_pending), .min = 1,
	.max = 10000000, .def = "65536",
	.doc = "Challenges pending at once (PAM and enrolment); past it, "
	       "a login is refused with \"limit\"."},
    {"limits", "max_pending_web", &fg_type_number, MAIN(max_pending_web),
	.min = 1, .max = 10000000, .def = "16384",
	.doc = "The browser's pending challenges, in a pool apart from "
	       "PAM's, so that a flood through the web front leaves PAM "
	       "logins alone."},
    {"limits", "max_pending_per_user", &fg_type_number,
	MAIN(max_pending_per_user), .min = 1, .max = 1000, .def = "8",
	.doc = "Challenges under way for one user, whoever asked; the "
	       "browser's are counted apart from PAM's."},
    {"limits", "max_logins_per_network", &fg_type_number,
	MAIN(max_logins_per_network), .min = 1, .max = 65536, .def = "1024",
	.doc = "Browser logins under way (from /authorize until the key "
	       "answers, 10 minutes at most) from one client network, as "
	       "fido2gate-web counts them (an IPv4 address, an IPv6 /64), "
	       "at every agent on the store together; 65,536 in all. A "
	       "user's max_pending_per_user challenges are counted per "
	       "network too: a stranger who begins logins in a user's "
	       "name fills their own network's slots, not the user's."},
    {"limits", "max_connections", &fg_type_number, MAIN(max_connections),
	.min = 2, .max = 65536, .def = "256",
	.doc = "Client connections at once."},
    {"limits", "max_connections_per_uid", &fg_type_number,
	MAIN(max_connections_per_uid), .min = 1, .max = 65536, .def = "16",
	.doc = "Connections of one caller that is not root."},
    {"limits", "root_reserved_connections", &fg_type_number,
	MAIN(root_reserved), .min = 1, .max = 65535,
	.def_doc = "max_connections / 8, at least 1",
	.doc = "The last connections, that only root may take: every PAM "
	       "stack runs as root, and no user may crowd it out. Must be "
	       "below max_connections."},
    {"limits", "max_message", &fg_type_number, MAIN(max_message), .min = 1024,
	.max = FG_MSG_MAX, .def = STR(FG_MSG_MAX), .doc = "Bytes per request."},
    {"limits", "idle_timeout", &fg_type_seconds, MAIN(idle_timeout), .min = 1,
	.max = 3600, .def = "120",
	.doc = "How long a connection may stay silent. Must exceed "
	       "challenge_timeout: a client waits for a touch on an open "
	       "connection."},
    /* 40 IDs of the longest kind still fit one 64 KiB reply */
    {"limits", "max_credentials_per_user", &fg_type_number,
	MAIN(max_credentials), .min = 1, .max = 40, .def = "16",
	.doc = "Active credentials of one user."},

    /* [rate_limit]: per caller (a uid but root) and per user */
    {"rate_limit", "caller_rate", &fg_type_number, MAIN(caller_rate), .min = 1,
	.max = 100000, .def = "10",
	.doc = "Requests a second of one caller that is not root (a "
	       "token bucket)."},
    {"rate_limit", "caller_burst", &fg_type_number, MAIN(caller_burst),
	.min = 1, .max = 100000, .def = "30", .doc = "And at once."},
    {"rate_limit", "backoff_after", &fg_type_number, MAIN(backoff_after),
	.min = 1, .max = 1000, .def = "3",
	.doc = "Failed attempts before delays start, per user and per "
	       "caller that is not root."},
    {"rate_limit", "backoff_base", &fg_type_seconds, MAIN(backoff_base),
	.min = 1, .max = 3600, .def = "1",
	.doc = "The first delay; it doubles with each further failure."},
    {"rate_limit", "backoff_max", &fg_type_seconds, MAIN(backoff_max), .min = 1,
	.max = 86400, .def = "60", .doc = "The longest delay."},
    {"rate_limit", "lockout_after", &fg_type_number, MAIN(lockout_after),
	.min = 0, .max = 1000, .def = "10",
	.doc = "Failures that lock the user until fido2gatectl unlock; 0: "
	       "never lock. Otherwise at least backoff_after."},
    {"rate_limit", "failure_window", &fg_type_seconds, MAIN(failure_window),
	.min = 60, .max = 30 * 86400, .def = "900",
	.doc = "How long failures are remembered."},

    /* [access] */
    {"access", "admin_group", &fg_type_text, MAIN(admin_group),
	.def = "fido2gate-admin",
	.doc = "Its members (and root) may ask for admin operations. "
	       "Once an admin is registered (fido2gatectl admin add), "
	       "every change also needs a registered admin's own key: "
	       "membership alone changes nothing."},

    /* [admin]: admins who act with their own key */
    {"admin", "user_verification", &fg_type_uv, MAIN(admin_uv),
	.values = "required|preferred|discouraged", .def = "required",
	.doc = "What an admin's key must prove at each step-up: required "
	       "asks for its PIN, so that a stolen admin key is not "
	       "enough."},
    {"admin", "bootstrap", &fg_type_flag, MAIN(bootstrap_open),
	.values = "first-admin|open", .def = "first-admin",
	.doc = "Until the first admin is registered: first-admin lets root "
	       "alone enrol one user's keys and register that user as the "
	       "first admin (fido2gatectl admin add), and nothing else; "
	       "open lets root and the admin group act without a key, as "
	       "on a single machine where root is the only admin. Each "
	       "such act is audited as a bootstrap."},
    {"admin", "approvals", &fg_type_number, MAIN(recovery_admins), .min = 1,
	.max = 2, .def = "2",
	.doc = "Distinct admins who must agree to a recovery (a key for a "
	       "user with no active key left), an unlock, and adding or "
	       "removing an admin: 2, the one who asks and another who "
	       "approves with fido2gatectl approve; 1 lets one admin "
	       "act alone."},
    {"admin", "approval_window", &fg_type_seconds, MAIN(recovery_window),
	.min = 60, .max = 604800, .def = "3600",
	.doc = "How long a request waits for the second admin before it "
	       "expires."},
    {"admin", "recovery_delay", &fg_type_seconds, MAIN(recovery_delay),
	.min = 0, .max = 604800, .def = "0",
	.doc = "A cooling-off: a recovered key works only this long after "
	       "its approval, so that the user (notified) can object "
	       "before an attacker's key does."},
    {"admin", "min_keys", &fg_type_number, MAIN(min_keys), .min = 1,
	.max = 40, .def = "2",
	.doc = "Active keys each user should hold: enroll, list and show "
	       "warn about a user with fewer (a spare key avoids the "
	       "lost-key call)."},

    {"admin", "invite_ttl", &fg_type_seconds, MAIN(invite_ttl), .min = 300,
	.max = 2592000, .def = "86400",
	.doc = "How long a link of fido2gatectl invite lives; the key "
	       "enrolled through it then waits as long for an admin's "
	       "confirmation."},
    /* [notify]: enrolments, revocations, locks, unlocks, lockouts */
    {"notify", "command", &fg_type_path, MAIN(notify_command),
	.doc = "A program run for each event, directly (no shell), with "
	       "the arguments EVENT USER DETAIL: EVENT one of enroll, "
	       "revoke, lock, unlock, lockout. Killed after timeout; "
	       "a failure is audited."},
    {"notify", "matrix", &fg_type_flag, MAIN(notify_matrix),
	.values = "no|yes", .def = "no",
	.doc = "yes: a server notice to the user's Matrix account, through "
	       "[homeserver] admin_url (Synapse needs server_notices)."},
    {"notify", "timeout", &fg_type_seconds, MAIN(notify_timeout), .min = 1,
	.max = 60, .def = "10", .doc = "Per notification."},

    /* [audit] */
    {"audit", "anchor_every", &fg_type_number, MAIN(anchor_every), .min = 0,
	.max = 1000000, .def = "100",
	.doc = "Every that many audit records, the agent writes the audit "
	       "chain's head (record id and hash) to the journal and to "
	       "its stderr as an anchor line, for an admin to keep "
	       "elsewhere and give to fido2gatectl audit --verify "
	       "--anchor; 0: no anchors."},

    /* [store]: where the credentials, counters and audit chain live */
    {"store", "store", &fg_type_store, MAIN(store),
	.def_doc = "the --db of fido2gated",
	.doc = "sqlite:PATH, an SQLite file of this host (the default, "
	       "as --db PATH), or postgresql:CONNINFO, a PostgreSQL "
	       "database several agents share: CONNINFO is a libpq "
	       "connection string (host=db1,db2 dbname=fido2gate "
	       "user=fido2gate, or a postgresql:// URI; several hosts "
	       "for a failover: the agent connects to the one that takes "
	       "writes). Its password goes in password_file, never in "
	       "the string. While PostgreSQL cannot be reached every "
	       "login is refused; the agent connects again by itself. "
	       "Over TCP a host that stops answering is given up within "
	       "seconds: the agent's defaults, keepalives_idle=5 "
	       "keepalives_interval=2 keepalives_count=3 "
	       "tcp_user_timeout=5000 connect_timeout=5, give way to the "
	       "string's own. "
	       "--db on the command line wins over this setting."},
    {"store", "password_file", &fg_type_path,
	MAIN(store_password_file),
	.def_doc = "none (or libpq's PGPASSFILE, ~/.pgpass)",
	.doc = "A PostgreSQL password file (lines of "
	       "host:port:database:user:password) owned by the agent's "
	       "user, mode 0600: the agent refuses to start on any "
	       "other."},

    /* [oidc]: the homeserver gate, off without issuer */
    {"oidc", "issuer", &fg_type_issuer, GATE(issuer),
	.doc = "The web front's public base URL, without a trailing /: "
	       "setting it turns the homeserver gate on (fido2gate as the "
	       "homeserver's OpenID Connect provider). Without it every "
	       "oidc.*, web.* and login.check request is refused."},
    {"oidc", "code_ttl", &fg_type_seconds, GATE(code_ttl), .min = 1, .max = 60,
	.def = "60",
	.doc = "How long an authorization code lives. Must be below "
	       "token_ttl."},
    {"oidc", "token_ttl", &fg_type_seconds, GATE(token_ttl), .min = 30,
	.max = 3600, .def = "300",
	.doc = "How long an id_token and an access token live."},
    {"oidc", "acr", &fg_type_text, GATE(acr),
	.doc = "An acr claim to put in every id_token."},

    /* [web]: the web front */
    {"web", "user", &fg_type_user, GATE(web_uid), GIVEN(gate.have_web_uid),
	.doc = "The web front's user: the only one, besides root, "
	       "served web.* and oidc.* requests. Needed with [oidc] "
	       "issuer."},
    {"web", "first_factor", &fg_type_first_factor, GATE(first_factor),
	.values = "none|pam:SERVICE|oidc:NAME", .def = "none",
	.doc = "What the browser login asks before the key. none: the key "
	       "with its PIN alone. pam:SERVICE: a password, checked "
	       "through that PAM service in a child process. oidc:NAME: "
	       "the organisation's identity provider, [upstream.NAME]."},

    /* [homeserver]: the Synapse module's side */
    {"homeserver", "user", &fg_type_user, GATE(hs_uid), GIVEN(gate.have_hs_uid),
	.doc = "The homeserver's user: the only one, besides root, "
	       "served login.check."},
    {"homeserver", "server_name", &fg_type_text, GATE(server_name),
	.doc = "The part after ':' in the homeserver's user IDs. Needed "
	       "with user."},
    {"homeserver", "provider", &fg_type_text, GATE(provider),
	.def = "oidc-fido2gate",
	.doc = "The auth_provider_id the homeserver passes for "
	       "fido2gate's logins."},
    {"homeserver", "client", &fg_type_text, GATE(hs_client),
	.def_doc = "any client's",
	.doc = "Only approvals issued to this [client.NAME] count."},
    {"homeserver", "window", &fg_type_seconds, GATE(window), .min = 10,
	.max = 3600, .def = "300",
	.doc = "How long an approval waits for its homeserver login."},
    {"homeserver", "admin_url", &fg_type_url, GATE(hs_admin_url),
	.doc = "The homeserver's base URL for its admin API (Synapse's "
	       "/_synapse/admin), for example http://127.0.0.1:8008: a "
	       "lock logs out every device of the user there, and "
	       "notifications go as server notices. Needs "
	       "admin_token_file."},
    {"homeserver", "admin_token_file", &fg_type_token_file,
	GATE(hs_admin_token),
	.doc = "A file holding the access token of a homeserver admin: a "
	       "regular file of the agent's user or root, mode 0600 or "
	       "stricter. Never logged."},
    {"homeserver", "exempt", &fg_type_regex, .repeat = true,
	.doc = "Matrix user IDs let in without a key (bridges, bots): an "
	       "extended regular expression, one a line, at most 16."},

    /* [client.NAME]: one per OpenID Connect client; NAME is its
     * client_id */
    {"client.*", "name", &fg_type_text, CLIENT(name),
	.def_doc = "the client_id", .doc = "Shown on the login page."},
    {"client.*", "secret_file", &fg_type_client_secret, CLIENT(secret_hash),
	.doc = "A file holding the client's secret: 16 to 512 letters, "
	       "digits, '-', '.', '_' or '~' (openssl rand -hex 32 makes "
	       "one). It must be a regular file of the agent's user or "
	       "root, mode 0600 or stricter; only its hash is kept."},
    {"client.*", "redirect_uri", &fg_type_redirect, .repeat = true,
	.doc = "A redirect URI the client may use, compared byte for "
	       "byte; one a line, at least one, at most 8."},
    {"client.*", "redirect_uris", &fg_type_redirect, .repeat = true,
	.alias_of = "redirect_uri"},
    {"client.*", "scopes", &fg_type_text, CLIENT(scopes),
	.def = "openid profile",
	.doc = "The scopes the client may be granted, separated by "
	       "spaces; must include openid."},
    {"client.*", "public", &fg_type_flag, CLIENT(is_public), .values = "no|yes",
	.def = "no",
	.doc = "yes: a client without a secret, that must use PKCE. "
	       "Otherwise secret_file is needed."},
    {"client.*", "id_token_alg", &fg_type_choice, CLIENT(alg),
	.values = "RS256|ES256", .def = "RS256",
	.doc = "The id_token's signature algorithm (Synapse and MAS "
	       "expect RS256 by default)."},

    {"client.*", "backchannel_logout_uri", &fg_type_url,
	CLIENT(backchannel_logout_uri),
	.doc = "Where the client takes OpenID Connect back-channel logout "
	       "tokens (Synapse: /_synapse/client/oidc/backchannel_logout "
	       "with backchannel_logout_enabled). fido2gatectl lock posts "
	       "one there for each of the user's sessions."},

    /* [upstream.NAME]: the organisation's identity provider, the first
     * factor of [web] first_factor = oidc:NAME */
    {"upstream.*", "issuer", &fg_type_url, UPSTREAM(issuer),
	.doc = "The provider's issuer. Needed."},
    {"upstream.*", "discovery_url", &fg_type_url, UPSTREAM(discovery),
	.def_doc = "issuer + /.well-known/openid-configuration",
	.doc = "Where its metadata is."},
    {"upstream.*", "client_id", &fg_type_text, UPSTREAM(client_id),
	.doc = "The client_id the provider gave us. Needed."},
    {"upstream.*", "client_secret_file", &fg_type_plain_secret,
	UPSTREAM(secret),
	.doc = "A file holding the secret the provider gave us: mode "
	       "0600, of the agent's user or root. Handed to the web "
	       "front only, never logged. Needed."},
    {"upstream.*", "token_auth", &fg_type_flag, UPSTREAM(secret_post),
	.values = "client_secret_basic|client_secret_post",
	.def = "client_secret_basic",
	.doc = "How the web front presents the secret to the token "
	       "endpoint."},
    {"upstream.*", "scopes", &fg_type_text, UPSTREAM(scopes),
	.def = "openid email",
	.doc = "The scopes to ask for, separated by spaces."},
    {"upstream.*", "params", &fg_type_params, UPSTREAM(params),
	.doc = "More authorization parameters, k=v&k=v (for example "
	       "acr_values=eidas1)."},
    {"upstream.*", "user_claim", &fg_type_text, UPSTREAM(claim),
	.def = "preferred_username",
	.doc = "The id_token claim that names the user."},
    {"upstream.*", "user_template", &fg_type_flag, UPSTREAM(email_localpart),
	.values = "as_is|email_localpart", .def = "as_is",
	.doc = "as_is: the claim is the user name. email_localpart: the "
	       "part of an email before '@', dots kept."},
    {"upstream.*", "algs", &fg_type_algs, UPSTREAM(algs),
	.values = "RS256 ES256 PS256 ES384 RS384", .def = "RS256 ES256",
	.doc = "The id_token algorithms accepted, separated by spaces; "
	       "never none, never HMAC."},
    {"upstream.*", "acr", &fg_type_words, UPSTREAM(acr), .repeat = true,
	.def_doc = "any",
	.doc = "The acr values accepted, separated by spaces, at most 8."},
    {"upstream.*", "skew", &fg_type_seconds, UPSTREAM(skew), .min = 0,
	.max = 600, .def = "60",
	.doc = "Clock skew allowed on the id_token's iat and exp."},
    {"upstream.*", "timeout", &fg_type_seconds, UPSTREAM(timeout), .min = 1,
	.max = 60, .def = "10", .doc = "Per request to the provider."},
    {"upstream.*", "ca_file", &fg_type_path, UPSTREAM(ca_file),
	.def_doc = "the system's certificates",
	.doc = "The certificates to trust for the provider's TLS (an "
	       "absolute path)."},
};
const size_t fg_settings_count = sizeof(fg_settings) / sizeof(fg_settings[0]);

const struct fg_setting_section fg_setting_sections[] = {
    {"relying_party",
	"The WebAuthn relying party: what every credential "
	"is bound to."},
    {"policy", "What a key must do."},
    {"limits",
	"Bounds on what callers may hold: challenges, "
	"connections, messages, credentials."},
    {"rate_limit",
	"Per caller (a uid but root) and per user: how fast "
	"they may ask, and what failures cost."},
    {"access", "Who may administer."},
    {"admin",
	"Admins who act with their own key, and what needs a "
	"second admin (docs/admin-guide.md)."},
    {"notify",
	"How a user hears of every enrolment, revocation, lock, "
	"unlock and lockout of their account. A notification never "
	"holds anything up; whether it went is audited (notify)."},
    {"audit",
	"The audit log: a hash chain in the store, copied to the "
	"journal."},
    {"store",
	"The store: SQLite on this host, or PostgreSQL shared by "
	"several agents."},
    {"oidc",
	"The homeserver gate: fido2gate as the homeserver's OpenID "
	"Connect provider, through the web front fido2gate-web(8). "
	"Off unless issuer is set."},
    {"web", "The web front, fido2gate-web(8)."},
    {"homeserver",
	"The homeserver's module, that asks login.check "
	"before it lets a login through."},
    {"client.*",
	"One section per OpenID Connect client (the homeserver); "
	"NAME is its client_id: 1 to 63 letters, digits, '-', "
	"'_' or '.'. At most 16."},
    {"upstream.*",
	"The organisation's identity provider, asked first "
	"when [web] first_factor = oidc:NAME; the web front is "
	"its relying party. NAME: 1 to 63 lower-case letters, "
	"digits, '-', '_' or '.'. At most 4."},
    {NULL, NULL},
};

#define FIELD(s, obj) ((char *)(obj) + (s)->offset)
#define CFIELD(s, obj) ((const char *)(obj) + (s)->offset)

/* Does section (as written) belong to pattern ("limits", "client.*")? */
static bool
section_is(const char *pattern, const char *section)
{
	size_t n = strlen(pattern);

	if (n >= 2 && strcmp(pattern + n - 2, ".*") == 0)
		return strncmp(section, pattern, n - 1) == 0;
	return strcmp(section, pattern) == 0;
}

enum fg_setting_scope
fg_setting_scope(const char *section)
{
	if (section_is("client.*", section))
		return FG_SCOPE_CLIENT;
	if (section_is("upstream.*", section))
		return FG_SCOPE_UPSTREAM;
	return FG_SCOPE_MAIN;
}

const struct fg_setting *
fg_setting_find(const char *section, const char *key, bool *known_section)
{
	size_t i;

	*known_section = false;
	for (i = 0; i < fg_settings_count; i++) {
		if (!section_is(fg_settings[i].section, section))
			continue;
		*known_section = true;
		if (strcmp(fg_settings[i].key, key) == 0)
			return &fg_settings[i];
	}
	return NULL;
}

static int
parse_into(
    struct fg_conf_ctx *x, const struct fg_setting *s, void *obj, const char *v)
{
	if (!s->type->parse(s, obj, v, x)) {
		if (x->err[0] == '\0')
			snprintf(x->err, x->errlen,
			    "bad value for [%s] %s: \"%.64s\"", x->section,
			    s->key, v);
		return 0;
	}
	if (s->given != 0)
		*(bool *)(void *)((char *)obj + s->given - 1) = true;
	return 1;
}

int
fg_settings_defaults(
    enum fg_setting_scope scope, void *obj, struct fg_conf_ctx *x)
{
	const char *section = x->section;
	size_t i;

	for (i = 0; i < fg_settings_count; i++) {
		const struct fg_setting *s = &fg_settings[i];
		if (s->def == NULL || fg_setting_scope(s->section) != scope)
			continue;
		x->section = s->section;
		x->err[0] = '\0';
		if (parse_into(x, s, obj, s->def) != 1) {
			x->section = section;
			return FG_ERR_INVALID;
		}
	}
	x->section = section;
	return FG_OK;
}

int
fg_setting_apply(struct fg_conf_ctx *x, const char *section, const char *key,
    const char *value)
{
	const struct fg_setting *s;
	void *obj = x->cfg;
	bool known;

	x->err[0] = '\0';
	x->section = section;
	if ((s = fg_setting_find(section, key, &known)) == NULL) {
		if (known)
			snprintf(x->err, x->errlen, "unknown setting [%s] %s",
			    section, key);
		else
			snprintf(x->err, x->errlen,
			    "unknown section [%s] (its setting %s)", section,
			    key);
		return 0;
	}
	switch (fg_setting_scope(s->section)) {
	case FG_SCOPE_CLIENT:
		obj = fg_gate_client_for(&x->cfg->gate, section, x);
		break;
	case FG_SCOPE_UPSTREAM:
		obj = fg_gate_upstream_for(&x->cfg->gate, section, x);
		break;
	case FG_SCOPE_MAIN:
		break;
	}
	if (obj == NULL)
		return 0;
	return parse_into(x, s, obj, value);
}

static void
show_section(const char *pattern, const char *name, const void *obj, FILE *f)
{
	size_t i;

	fprintf(f, "\n[%s]\n", name);
	for (i = 0; i < fg_settings_count; i++)
		if (strcmp(fg_settings[i].section, pattern) == 0 &&
		    fg_settings[i].alias_of == NULL)
			fg_settings[i].type->show(&fg_settings[i], obj, f);
}

void
fg_settings_show(const struct fg_config *cfg, FILE *f)
{
	char name[128];
	size_t i, k;

	for (i = 0; fg_setting_sections[i].name != NULL; i++) {
		const char *sec = fg_setting_sections[i].name;
		switch (fg_setting_scope(sec)) {
		case FG_SCOPE_MAIN:
			show_section(sec, sec, cfg, f);
			break;
		case FG_SCOPE_CLIENT:
			for (k = 0; k < cfg->gate.n_clients; k++) {
				snprintf(name, sizeof(name), "client.%s",
				    cfg->gate.clients[k].id);
				show_section(
				    sec, name, &cfg->gate.clients[k], f);
			}
			break;
		case FG_SCOPE_UPSTREAM:
			for (k = 0; k < cfg->gate.n_upstreams; k++) {
				snprintf(name, sizeof(name), "upstream.%s",
				    cfg->gate.upstreams[k].name);
				show_section(
				    sec, name, &cfg->gate.upstreams[k], f);
			}
			break;
		}
	}
}

/* --- the generic types --- */

static bool
number_parse(
    const struct fg_setting *s, void *obj, const char *v, struct fg_conf_ctx *x)
{
	unsigned long n;

	(void)x;
	if (!fg_config_uint(v, s->min, s->max, &n))
		return false;
	if (s->size == sizeof(unsigned))
		*(unsigned *)(void *)FIELD(s, obj) = (unsigned)n;
	else if (s->size == sizeof(size_t))
		*(size_t *)(void *)FIELD(s, obj) = n;
	else
		return false;
	return true;
}

static void
number_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	unsigned long n = s->size == sizeof(unsigned)
	    ? *(const unsigned *)(const void *)CFIELD(s, obj)
	    : *(const size_t *)(const void *)CFIELD(s, obj);

	fprintf(f, "%s = %lu\n", s->key, n);
}

const struct fg_setting_type fg_type_number = {
    "number", number_parse, number_show};
const struct fg_setting_type fg_type_seconds = {
    "seconds", number_parse, number_show};

/* Printable text (UTF-8 welcome), not empty, that fits its field. */
bool
fg_conf_text(char *dst, size_t len, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= len || !fg_text_printable(v, n))
		return false;
	memcpy(dst, v, n + 1);
	return true;
}

static bool
text_parse(
    const struct fg_setting *s, void *obj, const char *v, struct fg_conf_ctx *x)
{
	(void)x;
	return fg_conf_text(FIELD(s, obj), s->size, v);
}

void
fg_conf_text_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	const char *v = CFIELD(s, obj);

	fprintf(f, "%s =%s%s\n", s->key, v[0] != '\0' ? " " : "", v);
}

void
fg_conf_list_show(const struct fg_setting *s, char *const *items, size_t n,
    FILE *f)
{
	size_t i;

	fprintf(f, "%s =", s->key);
	for (i = 0; i < n; i++)
		fprintf(f, " %s", items[i]);
	fprintf(f, "\n");
}

const struct fg_setting_type fg_type_text = {
    "text", text_parse, fg_conf_text_show};

/* [store] store: sqlite:/PATH or postgresql:CONNINFO (which the store
 * checks when it connects) */
static bool
store_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	(void)x;
	if (strncmp(v, "sqlite:/", 8) != 0 &&
	    (strncmp(v, "postgresql:", 11) != 0 || v[11] == '\0'))
		return false;
	return fg_conf_text((char *)obj + s->offset, s->size, v);
}

static const struct fg_setting_type fg_type_store = {
    "store", store_parse, fg_conf_text_show};

/* The position of v among s->values ("a|b|c"), or -1. */
static int
choice_index(const struct fg_setting *s, const char *v)
{
	const char *p = s->values;
	size_t n = strlen(v);
	int i = 0;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '|');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return i;
		p = end != NULL ? end + 1 : NULL;
		i++;
	}
	return -1;
}

/* One of the choices, kept as text. */
static bool
choice_parse(
    const struct fg_setting *s, void *obj, const char *v, struct fg_conf_ctx *x)
{
	(void)x;
	return choice_index(s, v) >= 0 &&
	    fg_conf_text(FIELD(s, obj), s->size, v);
}

const struct fg_setting_type fg_type_choice = {
    "choice", choice_parse, fg_conf_text_show};

/* One of two choices, kept as a bool: the second is true. */
static bool
flag_parse(
    const struct fg_setting *s, void *obj, const char *v, struct fg_conf_ctx *x)
{
	int i = choice_index(s, v);

	(void)x;
	if (i < 0 || i > 1)
		return false;
	*(bool *)(void *)FIELD(s, obj) = i == 1;
	return true;
}

static void
flag_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	bool on = *(const bool *)(const void *)CFIELD(s, obj);
	const char *bar = strchr(s->values, '|');

	if (on)
		fprintf(f, "%s = %s\n", s->key, bar + 1);
	else
		fprintf(f, "%s = %.*s\n", s->key, (int)(bar - s->values),
		    s->values);
}

const struct fg_setting_type fg_type_flag = {"choice", flag_parse, flag_show};
