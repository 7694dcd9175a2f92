# A real Synapse (1.87.0, built by ../shared/synapse/build) for tests:
# sourced by a .t after tests/lib/tap.sh, which sets $TOP and $T.
#
#   synapse_build || { skip N "$SYNAPSE_SKIP"; ...; }   # sets SYNAPSE_PY
#   synapse_start DIR PORT ISSUER CLIENT_ID SECRET [AGENT_SOCKET]
#   synapse_register USER PASSWORD              # a non-admin user
#   synapse_password_login USER PASSWORD        # prints the HTTP status, then the body
#   synapse_stop
#
# synapse_build returns 1 with SYNAPSE_SKIP set when a test should skip
# (no ../shared, or not root for the first build), and 1 with SYNAPSE_SKIP
# empty when the build itself failed (a test failure; the log is
# $SYNAPSE_BUILD_LOG).
#
# Knobs, read by synapse_start:
#   SYNAPSE_CLIENT_URL  the client URL prefix in sso.client_whitelist, so that
#                       SSO redirects back at once (default http://127.0.0.1)
#   SYNAPSE_AGENT_TIMEOUT  the module's timeout (default 3)
#   SYNAPSE_EXTRA_JSON  a JSON object merged over the generated config's top level
#   SYNAPSE_OIDC_EXTRA_JSON  a JSON object merged over its fido2gate provider
#                       (backchannel_logout_enabled, say)
#
# Synapse fetches ISSUER's discovery document and JWKS at start and does not
# start without them: start the web front (or fake_issuer.py) first.
#
# After synapse_start: SYNAPSE_URL (http://127.0.0.1:PORT), SYNAPSE_DIR,
# SYNAPSE_LOG (its log file), SYNAPSE_CONFIG, SYNAPSE_SHARED_SECRET.

# shellcheck disable=SC2034 # the variables are for the tests that source this
SYNAPSE_TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SYNAPSE_SHARED=${FG_SHARED:-$SYNAPSE_TOP/../shared}  # FG_SHARED: another shared folder (tests of the skip)
SYNAPSE_MODULE_DIR=$SYNAPSE_TOP/homeserver/synapse
SYNAPSE_PY3=$(command -v /usr/bin/python3 || command -v python3) # Debian's, for helpers
SYNAPSE_PY=
SYNAPSE_SKIP=
SYNAPSE_BUILD_LOG=${T:-${TMPDIR:-/tmp}}/synapse-build.log
SYNAPSE_DIR=
SYNAPSE_URL=
SYNAPSE_LOG=
SYNAPSE_CONFIG=
SYNAPSE_SHARED_SECRET=

# synapse_build: the build's Python in SYNAPSE_PY (a finished build returns
# at once; a lock keeps two tests from building at the same time)
synapse_build() {
	local build=$SYNAPSE_SHARED/synapse/build out rc
	SYNAPSE_SKIP=
	if [ ! -d "$SYNAPSE_SHARED" ]; then
		SYNAPSE_SKIP="no $SYNAPSE_SHARED (the shared Synapse sources): cannot build a real Synapse"
		return 1
	fi
	if [ ! -x "$build" ]; then
		SYNAPSE_SKIP="no $build: cannot build a real Synapse"
		return 1
	fi
	out=$(flock "${TMPDIR:-/tmp}/fido2gate-synapse-build.lock" "$build" 2> "$SYNAPSE_BUILD_LOG")
	rc=$?
	SYNAPSE_PY=$(printf '%s\n' "$out" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -x "$SYNAPSE_PY" ]; then
		return 0
	fi
	SYNAPSE_PY=
	if [ "$(id -u)" != 0 ]; then
		SYNAPSE_SKIP="the Synapse build needs root the first time (Debian packages): $(tail -n 1 "$SYNAPSE_BUILD_LOG")"
	fi
	return 1
}

# synapse_free_port: a TCP port nobody listens on, on 127.0.0.1
synapse_free_port() {
	"$SYNAPSE_PY3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# synapse_write_config DIR PORT ISSUER CLIENT_ID SECRET AGENT_SOCKET
synapse_write_config() {
	"$SYNAPSE_PY" - "$@" << 'EOF'
import json, os, secrets, sys
import yaml

d, port, issuer, client_id, client_secret, agent_socket = sys.argv[1:7]
port = int(port)
log_config = {
    "version": 1,
    "formatters": {"precise": {"format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s"}},
    "handlers": {"file": {"class": "logging.FileHandler", "formatter": "precise",
                          "filename": os.path.join(d, "homeserver.log"), "encoding": "utf8"}},
    "loggers": {"synapse.storage.SQL": {"level": "WARNING"}},
    "root": {"level": "INFO", "handlers": ["file"]},
    "disable_existing_loggers": False,
}
config = {
    "server_name": "localhost",
    "pid_file": os.path.join(d, "homeserver.pid"),
    "public_baseurl": "http://127.0.0.1:%d/" % port,
    "listeners": [{
        "port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
        "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}],
    }],
    "database": {"name": "sqlite3", "args": {"database": os.path.join(d, "homeserver.db")}},
    "log_config": os.path.join(d, "log.config"),
    "media_store_path": os.path.join(d, "media_store"),
    "signing_key_path": os.path.join(d, "localhost.signing.key"),
    "trusted_key_servers": [],
    "suppress_key_server_warning": True,
    "report_stats": False,
    "enable_metrics": False,
    "registration_shared_secret": secrets.token_urlsafe(24),
    "macaroon_secret_key": secrets.token_urlsafe(24),
    "form_secret": secrets.token_urlsafe(24),
    "enable_registration": False,
    # left on deliberately: the tests show the backstop refusing it
    "password_config": {"enabled": True},
    "login_via_existing_session": {"enabled": False},
    "sso": {"client_whitelist": [os.environ.get("SYNAPSE_CLIENT_URL") or "http://127.0.0.1"]},
    "rc_login": {
        "address": {"per_second": 1000, "burst_count": 1000},
        "account": {"per_second": 1000, "burst_count": 1000},
        "failed_attempts": {"per_second": 1000, "burst_count": 1000},
    },
    "oidc_providers": [{
        "idp_id": "fido2gate",
        "idp_name": "Security key (fido2gate)",
        "issuer": issuer,
        "discover": True,
        # http on loopback only; behind TLS in production, never this
        "skip_verification": True,
        "client_id": client_id,
        "client_secret": client_secret,
        "client_auth_method": "client_secret_basic",
        "scopes": ["openid", "profile"],
        "pkce_method": "auto",
        # users made by synapse_register log in through SSO as themselves
        "allow_existing_users": True,
        "user_mapping_provider": {"config": {
            "subject_claim": "sub",
            "localpart_template": "{{ user.preferred_username }}",
        }},
    }],
    "modules": [{
        "module": "fido2gate_synapse.Fido2gateBackstop",
        "config": {"socket": agent_socket,
                   "timeout": float(os.environ.get("SYNAPSE_AGENT_TIMEOUT") or 3)},
    }],
}
extra = os.environ.get("SYNAPSE_OIDC_EXTRA_JSON")
if extra:
    config["oidc_providers"][0].update(json.loads(extra))
extra = os.environ.get("SYNAPSE_EXTRA_JSON")
if extra:
    config.update(json.loads(extra))
with open(os.path.join(d, "log.config"), "w") as f:
    yaml.safe_dump(log_config, f, sort_keys=False)
with open(os.path.join(d, "homeserver.yaml"), "w") as f:
    yaml.safe_dump(config, f, sort_keys=False)
print(config["registration_shared_secret"])
EOF
}

_synapse_up() {
	curl -sf -o /dev/null --max-time 2 "$SYNAPSE_URL/_matrix/client/versions"
}

_synapse_pid() {
	[ -n "$SYNAPSE_DIR" ] && cat "$SYNAPSE_DIR/homeserver.pid" 2> /dev/null
}

# synapse_start DIR PORT ISSUER CLIENT_ID SECRET [AGENT_SOCKET]: a homeserver
# for server_name localhost on 127.0.0.1:PORT, daemonized, with the backstop
# asking AGENT_SOCKET (default $SOCK, else the agent's default socket);
# returns once /_matrix/client/versions answers (60 s at most)
synapse_start() {
	local dir=$1 port=$2 issuer=$3 client_id=$4 secret=$5
	local sock=${6:-${SOCK:-/run/fido2gate/agent.sock}} pid i
	[ -n "$SYNAPSE_PY" ] || { echo "synapse_start: run synapse_build first" >&2; return 1; }
	mkdir -p "$dir" || return 1
	SYNAPSE_DIR=$(cd "$dir" && pwd)
	SYNAPSE_URL=http://127.0.0.1:$port
	SYNAPSE_LOG=$SYNAPSE_DIR/homeserver.log
	SYNAPSE_CONFIG=$SYNAPSE_DIR/homeserver.yaml
	SYNAPSE_SHARED_SECRET=$(synapse_write_config "$SYNAPSE_DIR" "$port" "$issuer" \
		"$client_id" "$secret" "$sock") || return 1
	# the module is imported from the checkout; --generate-keys writes the
	# signing key (and loads the config, modules included)
	(cd "$SYNAPSE_DIR" && export PYTHONDONTWRITEBYTECODE=1 &&
		PYTHONPATH=$SYNAPSE_MODULE_DIR${PYTHONPATH:+:$PYTHONPATH} \
			"$SYNAPSE_PY" -m synapse.app.homeserver -c "$SYNAPSE_CONFIG" --generate-keys &&
		PYTHONPATH=$SYNAPSE_MODULE_DIR${PYTHONPATH:+:$PYTHONPATH} \
			"$SYNAPSE_PY" -m synapse.app.homeserver -c "$SYNAPSE_CONFIG" --daemonize) \
		> "$SYNAPSE_DIR/start.log" 2>&1 || {
		cat "$SYNAPSE_DIR/start.log" >&2
		return 1
	}
	# --daemonize may return 0 while the server then fails: wait for it
	for i in $(seq 600); do
		_synapse_up && return 0
		pid=$(_synapse_pid)
		if [ "$i" -gt 20 ] && { [ -z "$pid" ] || ! kill -0 "$pid" 2> /dev/null; }; then
			break
		fi
		sleep 0.1
	done
	echo "synapse_start: Synapse did not come up on $SYNAPSE_URL:" >&2
	tail -n 30 "$SYNAPSE_LOG" "$SYNAPSE_DIR/start.log" >&2 2> /dev/null
	return 1
}

# synapse_gate_conf SECRET_FILE REDIRECT_URI: the agent's sections for
# this Synapse as its homeserver: the login decision and Synapse's client
synapse_gate_conf() {
	cat << CONF
[homeserver]
user = root
server_name = localhost
provider = oidc-fido2gate
[client.synapse]
name = Synapse
secret_file = $1
redirect_uri = $2
scopes = openid profile
id_token_alg = RS256
CONF
}

# synapse_stop: SIGTERM, then wait for it to go (SIGKILL after 20 s)
synapse_stop() {
	local pid i
	pid=$(_synapse_pid)
	[ -n "$pid" ] || return 0
	kill "$pid" 2> /dev/null
	for i in $(seq 200); do
		kill -0 "$pid" 2> /dev/null || { rm -f "$SYNAPSE_DIR/homeserver.pid"; return 0; }
		sleep 0.1
	done
	kill -9 "$pid" 2> /dev/null
	rm -f "$SYNAPSE_DIR/homeserver.pid"
}

# synapse_register USER PASSWORD [--admin]: a user (not an admin unless
# --admin), through the shared secret
synapse_register() {
	# --shared-secret=: a secret may begin with '-' (token_urlsafe)
	"$SYNAPSE_PY" -m synapse._scripts.register_new_matrix_user -u "$1" -p "$2" \
		"${3:---no-admin}" --shared-secret="$SYNAPSE_SHARED_SECRET" "$SYNAPSE_URL"
}

# synapse_password_login USER PASSWORD: m.login.password; prints the HTTP
# status on the first line and the response body on the second
synapse_password_login() {
	local body out
	body=$("$SYNAPSE_PY3" -c 'import json, sys; print(json.dumps({
		"type": "m.login.password",
		"identifier": {"type": "m.id.user", "user": sys.argv[1]},
		"password": sys.argv[2],
		"initial_device_display_name": "fido2gate test"}))' "$1" "$2") || return 1
	out=$(curl -s --max-time 30 -w '\n%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @- "$SYNAPSE_URL/_matrix/client/v3/login" <<< "$body") || return 1
	printf '%s\n%s\n' "${out##*$'\n'}" "${out%$'\n'*}"
}
