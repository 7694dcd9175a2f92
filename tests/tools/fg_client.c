/*
 * fg-client: a test client of the agent protocol.
 *
 *   fg-client SOCKET raw
 *       sends each stdin line as one record, byte for byte, and prints each
 *       reply on one line ("<closed>" when the agent hung up).
 *   fg-client SOCKET login USER [--capture FILE] [--sleep S] [--wait-for F]
 *                              [--session-of USER2] [--challenge-of USER2]
 *       runs auth.begin, the key's assertion and auth.finish the way the
 *       PAM module does, with the tampering a test needs: keep the finish
 *       request for a replay, wait before finishing, finish on another
 *       user's session, or sign another user's challenge. Prints the
 *       agent's last reply; exit 0 on allow, 1 on deny, 2 on error.
 *   fg-client SOCKET enroll USER [--u2f] [--tamper]
 *       enrols the first key over CTAP2, or over CTAP1/U2F (fido-u2f
 *       attestation), optionally with a flipped bit in the attestation
 *       signature. Prints the agent's reply; exit 0 when it enrolled.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cbor.h>

#include "fg.h"
#include "fg_device.h"

static int
raw(int fd)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		json_t *reply = NULL;
		char *s;
		int r;

		if (line[n - 1] == '\n')
			n--;
		if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
			printf("<closed>\n");
			break;
		}
		r = fg_msg_recv(fd, 5000, FG_MSG_MAX, &reply);
		if (r != FG_OK) {
			printf("<%s>\n", r == FG_ERR_PROTO ? "closed" :
							    fg_strerror(r));
			if (r == FG_ERR_PROTO)
				break;
			continue;
		}
		s = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s\n", s);
		fflush(stdout);
		free(s);
		json_decref(reply);
	}
	free(line);
	return 0;
}

/* The allow list as sent: the tool tampers with the raw replies. */
static int
id_list(const json_t *arr, struct fg_id_list *l)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < json_array_size(arr) && i < FG_ALLOW_MAX; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s == NULL ||
		    fg_b64url_decode(s, &l->id[l->n], &l->len[l->n]) != FG_OK)
			return FG_ERR_PROTO;
		l->n++;
	}
	return l->n > 0 ? FG_OK : FG_ERR_PROTO;
}

static json_t *
call(struct fg_client *c, json_t *req)
{
	json_t *reply = NULL;

	if (fg_client_call(c, req, 10000, &reply) != FG_OK)
		reply = NULL;
	return reply;
}

static json_t *
begin(struct fg_client *fd, const char *user)
{
	json_t *r = call(fd, json_pack("{s:s,s:s,s:s}", "op", FG_OP_AUTH_BEGIN,
				 "user", user, "service", "fg-client"));

	if (r == NULL || !json_is_true(json_object_get(r, "ok"))) {
		char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;
		printf("%s\n", s ? s : "<no reply>");
		free(s);
		json_decref(r);
		return NULL;
	}
	return r;
}

static int
login(struct fg_client *fd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "capture", required_argument, NULL, 'c' },
		{ "sleep", required_argument, NULL, 's' },
		{ "wait-for", required_argument, NULL, 'w' },
		{ "session-of", required_argument, NULL, 'S' },
		{ "challenge-of", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *capture = NULL, *session_of = NULL, *challenge_of = NULL;
	const char *wait_for = NULL;
	json_t *b = NULL, *bs = NULL, *bc = NULL, *req = NULL, *reply = NULL;
	struct fg_devs devs = { 0 };
	struct fg_id_list ids = { 0 };
	struct fg_assert_out out = { 0 };
	uint8_t *chal = NULL, cdh[32];
	size_t chal_len = 0, which = 0;
	char *cdj = NULL, *s;
	int ch, secs = 0, ferr, rc = 2;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'c')
			capture = optarg;
		else if (ch == 's')
			secs = atoi(optarg);
		else if (ch == 'w')
			wait_for = optarg;
		else if (ch == 'S')
			session_of = optarg;
		else if (ch == 'C')
			challenge_of = optarg;
		else
			return 2;
	}
	if (optind != argc - 1)
		return 2;
	if ((b = begin(fd, argv[optind])) == NULL)
		goto out;
	if (challenge_of != NULL && (bc = begin(fd, challenge_of)) == NULL)
		goto out;
	if (fg_json_b64(bc ? bc : b, "challenge", &chal, &chal_len) != FG_OK ||
	    id_list(json_object_get(b, "allow_credentials"), &ids) != FG_OK)
		goto out;
	fido_init(0);
	if (fg_devs_open(&devs, 10000) != FG_OK || devs.n == 0) {
		printf("no key\n");
		goto out;
	}
	if (fg_devs_probe(&devs, fg_json_str(b, "rp_id"), &ids, &which) !=
	    FG_OK) {
		printf("no enrolled key\n");
		goto out;
	}
	cdj = fg_client_data_json("webauthn.get", chal, chal_len,
	    fg_json_str(b, "origin"));
	fg_sha256(cdj, strlen(cdj), cdh);
	if (fg_dev_assert(devs.dev[which], fg_json_str(b, "rp_id"), cdh, &ids,
		FG_UV_NONE, NULL, &out, &ferr) != FG_OK) {
		printf("key error: %s\n", fido_strerr(ferr));
		goto out;
	}
	if (session_of != NULL && (bs = begin(fd, session_of)) == NULL)
		goto out;
	if (secs > 0)
		sleep((unsigned)secs);
	/* the test decides when the finish goes: once it made F */
	while (wait_for != NULL && access(wait_for, F_OK) != 0)
		usleep(10000);
	{
		char *id = fg_b64url_encode(out.id, out.id_len);
		char *ad = fg_b64url_encode(out.authdata, out.authdata_len);
		char *sig = fg_b64url_encode(out.sig, out.sig_len);
		char *cd = fg_b64url_encode((uint8_t *)cdj, strlen(cdj));
		req = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s}", "v",
		    FG_PROTO_VERSION, "op", FG_OP_AUTH_FINISH, "session",
		    fg_json_str(bs ? bs : b, "session"), "credential_id", id,
		    "authenticator_data", ad, "client_data_json", cd,
		    "signature", sig);
		free(id);
		free(ad);
		free(sig);
		free(cd);
	}
	if (capture != NULL) {
		FILE *f = fopen(capture, "w");
		if (f == NULL)
			goto out;
		json_dumpf(req, f, JSON_COMPACT);
		fputc('\n', f);
		fclose(f);
	}
	if (fg_client_call(fd, json_incref(req), 10000, &reply) != FG_OK)
		goto out;
	s = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", s);
	free(s);
	rc = strcmp(fg_json_str(reply, "result") ? fg_json_str(reply, "result") :
						    "",
		     "allow") == 0 ?
	    0 :
	    1;
out:
	fg_devs_close(&devs);
	fg_id_list_clear(&ids);
	fg_assert_out_clear(&out);
	json_decref(b);
	json_decref(bs);
	json_decref(bc);
	json_decref(req);
	json_decref(reply);
	free(chal);
	free(cdj);
	return rc;
}

static int
enroll(struct fg_client *fd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "u2f", no_argument, NULL, 'u' },
		{ "tamper", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct fg_devs devs = { 0 };
	fido_cred_t *cred = NULL;
	json_t *b = NULL, *reply = NULL;
	uint8_t *chal = NULL, *handle = NULL, cdh[32], *sig = NULL;
	size_t chal_len = 0, hlen = 0, slen;
	char *cdj = NULL, *ad = NULL, *st = NULL, *cd = NULL, *s;
	bool u2f = false, tamper = false;
	int ch, rc = 2;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'u')
			u2f = true;
		else if (ch == 't')
			tamper = true;
		else
			return 2;
	}
	if (optind != argc - 1)
		return 2;
	b = call(fd, json_pack("{s:s,s:s}", "op", FG_OP_ENROLL_BEGIN, "user",
			 argv[optind]));
	if (b == NULL || fg_json_b64(b, "challenge", &chal, &chal_len) ||
	    fg_json_b64(b, "user_handle", &handle, &hlen))
		goto out;
	fido_init(0);
	if (fg_devs_open(&devs, 10000) != FG_OK || devs.n == 0)
		goto out;
	if (u2f)
		fido_dev_force_u2f(devs.dev[0]);
	cdj = fg_client_data_json("webauthn.create", chal, chal_len,
	    fg_json_str(b, "origin"));
	fg_sha256(cdj, strlen(cdj), cdh);
	if ((cred = fido_cred_new()) == NULL ||
	    fido_cred_set_type(cred, COSE_ES256) != FIDO_OK ||
	    fido_cred_set_clientdata_hash(cred, cdh, 32) != FIDO_OK ||
	    fido_cred_set_rp(cred, fg_json_str(b, "rp_id"), NULL) != FIDO_OK ||
	    fido_cred_set_user(cred, handle, hlen, argv[optind], NULL, NULL) !=
		FIDO_OK ||
	    fido_dev_make_cred(devs.dev[0], cred, NULL) != FIDO_OK) {
		printf("key error\n");
		goto out;
	}
	if (tamper) {
		/* re-encode attStmt with one bit of its signature flipped */
		slen = fido_cred_sig_len(cred);
		sig = malloc(slen);
		memcpy(sig, fido_cred_sig_ptr(cred), slen);
		sig[slen / 2] ^= 1;
		fido_cred_set_sig(cred, sig, slen);
		{
			struct cbor_load_result lr;
			cbor_item_t *m = cbor_load(fido_cred_attstmt_ptr(cred),
			    fido_cred_attstmt_len(cred), &lr);
			unsigned char *buf = NULL;
			size_t bl, n;
			for (size_t i = 0; m && i < cbor_map_size(m); i++) {
				struct cbor_pair *p = &cbor_map_handle(m)[i];
				if (cbor_isa_bytestring(p->value) &&
				    cbor_string_length(p->key) == 3 &&
				    memcmp(cbor_string_handle(p->key), "sig",
					3) == 0) {
					cbor_decref(&p->value);
					p->value = cbor_build_bytestring(sig,
					    slen);
				}
			}
			n = cbor_serialize_alloc(m, &buf, &bl);
			st = fg_b64url_encode(buf, n);
			free(buf);
			cbor_decref(&m);
		}
	} else
		st = fg_b64url_encode(fido_cred_attstmt_ptr(cred),
		    fido_cred_attstmt_len(cred));
	ad = fg_b64url_encode(fido_cred_authdata_raw_ptr(cred),
	    fido_cred_authdata_raw_len(cred));
	cd = fg_b64url_encode((uint8_t *)cdj, strlen(cdj));
	reply = call(fd, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "op",
			     FG_OP_ENROLL_FINISH, "session",
			     fg_json_str(b, "session"), "fmt",
			     fido_cred_fmt(cred), "authenticator_data", ad,
			     "attestation_statement", st, "client_data_json",
			     cd));
	if (reply == NULL)
		goto out;
	s = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", s);
	free(s);
	rc = json_is_true(json_object_get(reply, "ok")) ? 0 : 1;
out:
	fg_devs_close(&devs);
	fido_cred_free(&cred);
	json_decref(b);
	json_decref(reply);
	free(chal);
	free(handle);
	free(sig);
	free(cdj);
	free(ad);
	free(st);
	free(cd);
	return rc;
}

int
main(int argc, char **argv)
{
	struct fg_client *c = NULL;
	char err[256];
	int fd, rc;

	if (argc < 3) {
		fprintf(stderr, "usage: fg-client SOCKET raw|login ...\n");
		return 2;
	}
	/* raw sends bytes no client would send: it writes to the socket
	 * itself; the other commands go through the client API */
	if (strcmp(argv[2], "raw") == 0) {
		if (fg_connect(argv[1], 5000, &fd) != FG_OK) {
			printf("<unavailable>\n");
			return 3;
		}
		rc = raw(fd);
		close(fd);
		return rc;
	}
	if (fg_client_open(argv[1], 5000, &c, err, sizeof(err)) != FG_OK) {
		printf("<unavailable: %s>\n", err);
		return 3;
	}
	if (strcmp(argv[2], "login") == 0)
		rc = login(c, argc - 2, argv + 2);
	else if (strcmp(argv[2], "enroll") == 0)
		rc = enroll(c, argc - 2, argv + 2);
	else
		rc = 2;
	fg_client_free(&c);
	return rc;
}
