/*
 * libFuzzer: one agent protocol record, as fido2gated reads it (JSON,
 * duplicates refused, an object), handled by the agent's request handlers
 * as root, as an unprivileged caller, as the web front and as the
 * homeserver, on a real store in /dev/shm, with the homeserver gate on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fg_agent ag;
static char dir[] = "/dev/shm/fg-fuzz-XXXXXX";

static void
cleanup(void)
{
	static const char *const files[] = { "store.db", "store.db-wal",
		"store.db-shm" };
	char path[64];
	size_t i;

	fg_store_close(&ag.store);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void
setup(void)
{
	char path[64], err[512];

	/* a private folder: the store refuses a shared one */
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/store.db", dir);
	if (fg_config_load(NULL, &ag.cfg, err, sizeof(err)) != FG_OK ||
	    fg_store_open(path, &ag.store, err, sizeof(err)) != FG_OK ||
	    fg_chal_table_new(1024, 1024, fg_agent_expired, &ag, &ag.chal) != FG_OK ||
	    fg_limits_new(&ag.limits) != FG_OK ||
	    fg_keycache_new(&ag.keys) != FG_OK) {
		fprintf(stderr, "fuzz_proto: %s\n", err);
		abort();
	}
	ag.cfg.lockout_after = 0;
	ag.defer.fd = -1;
	/* the homeserver gate, so that its handlers are fuzzed too */
	{
		struct fg_gate *g = &ag.cfg.gate;
		struct fg_oidc_client *c = &g->clients[0];
		snprintf(g->issuer, sizeof(g->issuer), "https://m.test/_fg");
		snprintf(g->server_name, sizeof(g->server_name), "m.test");
		snprintf(c->id, sizeof(c->id), "synapse");
		snprintf(c->name, sizeof(c->name), "Matrix");
		snprintf(c->scopes, sizeof(c->scopes), "openid profile");
		snprintf(c->alg, sizeof(c->alg), "ES256");
		fg_sha256("secret-secret-secret", 20, c->secret_hash);
		c->redirect[0] = strdup("https://m.test/cb");
		c->n_redirect = 1;
		g->n_clients = 1;
		if (fg_oidc_new(&ag.oidc) != FG_OK || fg_keys_open(&ag) != FG_OK)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fg_peer peers[] = {
		{ .uid = 0, .admin = true, .name = "root" },
		{ .uid = 1000, .name = "alice" },
		{ .uid = 998, .web = true, .name = "fido2gate-web" },
		{ .uid = 997, .homeserver = true, .name = "matrix-synapse" },
	};
	json_error_t jerr;
	json_t *req, *reply;
	size_t i;

	if (ag.store == NULL)
		setup();
	if (size > FG_MSG_MAX)
		return 0;
	req = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (req == NULL || !json_is_object(req)) {
		json_decref(req);
		return 0;
	}
	for (i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		reply = fg_agent_handle(&ag, &peers[i], req);
		json_decref(reply);
	}
	json_decref(req);
	/* keep the table small: every challenge expires at once */
	fg_chal_expire(ag.chal, fg_now_ms() + 3600 * 1000);
	fg_oidc_sweep(&ag, fg_now_ms() + 3600 * 1000);
	return 0;
}
