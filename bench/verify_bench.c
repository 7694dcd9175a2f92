/*
 * verify-bench: fido2gate's assertion verifier against raw OpenSSL, on the
 * same signatures, in the same process, on one core.
 *
 *   verify-bench SECONDS [OUT_DIR]
 *
 * For ES256 and EdDSA it makes 64 keys and 1024 assertions (authData,
 * clientDataJSON, signature), then counts, for SECONDS each:
 *   fg_verify_assertion with the key already parsed (the agent's work for
 *     one auth.finish, minus the store), and
 *   EVP_DigestVerify of authData || SHA-256(clientDataJSON) alone.
 * Prints JSON. With OUT_DIR it also writes the assertions there as JSON
 * lines for the Node.js peer (bench/peers/verify.mjs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "fg.h"

#define KEYS 64
#define N 1024
#define RP "fido2gate.test"
#define ORIGIN "https://fido2gate.test"

struct item {
	uint8_t ad[37];
	char *cdj;
	uint8_t chal[32];
	uint8_t sig[80];
	size_t sig_len;
	int key;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
cose_of(EVP_PKEY *pk, int alg, uint8_t *out, size_t max)
{
	uint8_t pub[65];
	size_t len = 0, n;
	cbor_item_t *m;
	unsigned char *buf = NULL;
	size_t buflen = 0;

	if (alg == FG_COSE_ES256) {
		EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY,
		    pub, sizeof(pub), &len);
		m = cbor_new_definite_map(5);
		cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_uint8(1)), cbor_move(cbor_build_uint8(2)) });
		cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_uint8(3)), cbor_move(cbor_build_negint8(6)) });
		cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_negint8(0)), cbor_move(cbor_build_uint8(1)) });
		cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_negint8(1)), cbor_move(cbor_build_bytestring(pub + 1, 32)) });
		cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_negint8(2)), cbor_move(cbor_build_bytestring(pub + 33, 32)) });
	} else {
		len = sizeof(pub);
		EVP_PKEY_get_raw_public_key(pk, pub, &len);
		m = cbor_new_definite_map(4);
		cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_uint8(1)), cbor_move(cbor_build_uint8(1)) });
		cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_uint8(3)), cbor_move(cbor_build_negint8(7)) });
		cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_negint8(0)), cbor_move(cbor_build_uint8(6)) });
		cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_negint8(1)), cbor_move(cbor_build_bytestring(pub, len)) });
	}
	n = cbor_serialize_alloc(m, &buf, &buflen);
	cbor_decref(&m);
	if (n == 0 || n > max)
		abort();
	memcpy(out, buf, n);
	free(buf);
	return n;
}

static void
make_items(int alg, EVP_PKEY **pk, struct fg_pubkey **keys, uint8_t cose[][128],
    size_t *cose_len, struct item *it)
{
	size_t i;

	for (i = 0; i < KEYS; i++) {
		pk[i] = alg == FG_COSE_ES256 ? EVP_EC_gen("P-256") :
					       EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		cose_len[i] = cose_of(pk[i], alg, cose[i], 128);
		if (fg_pubkey_from_cose(cose[i], cose_len[i], &keys[i]) != FG_OK)
			abort();
	}
	for (i = 0; i < N; i++) {
		struct item *x = &it[i];
		uint8_t msg[69];
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		size_t n = sizeof(x->sig);

		x->key = (int)(i % KEYS);
		fg_sha256(RP, strlen(RP), x->ad);
		x->ad[32] = 0x05; /* UP, UV */
		x->ad[33] = 0;
		x->ad[34] = 0;
		x->ad[35] = (uint8_t)(i >> 8);
		x->ad[36] = (uint8_t)i + 1;
		fg_random(x->chal, sizeof(x->chal));
		x->cdj = fg_client_data_json("webauthn.get", x->chal,
		    sizeof(x->chal), ORIGIN);
		memcpy(msg, x->ad, 37);
		fg_sha256(x->cdj, strlen(x->cdj), msg + 37);
		if (EVP_DigestSignInit(ctx, NULL,
			alg == FG_COSE_ES256 ? EVP_sha256() : NULL, NULL,
			pk[x->key]) != 1 ||
		    EVP_DigestSign(ctx, x->sig, &n, msg, sizeof(msg)) != 1)
			abort();
		x->sig_len = n;
		EVP_MD_CTX_free(ctx);
	}
}

/* verifications per second through fg_verify_assertion */
static double
run_fg(struct fg_pubkey **keys, struct item *it, double secs)
{
	const char *const origins[] = { ORIGIN };
	double t0 = now_s(), t;
	long n = 0;

	do {
		for (size_t i = 0; i < 256; i++, n++) {
			struct item *x = &it[n % N];
			struct fg_assertion a = { .authdata = x->ad,
				.authdata_len = 37,
				.client_data_json = (const uint8_t *)x->cdj,
				.client_data_json_len = strlen(x->cdj),
				.sig = x->sig, .sig_len = x->sig_len };
			struct fg_expect e = { .rp_id = RP,
				.challenge = x->chal,
				.challenge_len = sizeof(x->chal),
				.origins = origins, .n_origins = 1,
				.user_presence = true,
				.user_verification = true };
			struct fg_verdict v;

			if (fg_verify_assertion(keys[x->key], FG_OK, &a, &e,
				&v) != FG_OK ||
			    v.failed != 0)
				abort();
		}
		t = now_s() - t0;
	} while (t < secs);
	return (double)n / t;
}

/* the same signatures through EVP_DigestVerify alone */
static double
run_openssl(int alg, EVP_PKEY **pk, struct item *it, double secs)
{
	double t0 = now_s(), t;
	long n = 0;

	do {
		for (size_t i = 0; i < 256; i++, n++) {
			struct item *x = &it[n % N];
			uint8_t msg[69];
			EVP_MD_CTX *ctx = EVP_MD_CTX_new();

			memcpy(msg, x->ad, 37);
			fg_sha256(x->cdj, strlen(x->cdj), msg + 37);
			if (EVP_DigestVerifyInit(ctx, NULL,
				alg == FG_COSE_ES256 ? EVP_sha256() : NULL,
				NULL, pk[x->key]) != 1 ||
			    EVP_DigestVerify(ctx, x->sig, x->sig_len, msg,
				sizeof(msg)) != 1)
				abort();
			EVP_MD_CTX_free(ctx);
		}
		t = now_s() - t0;
	} while (t < secs);
	return (double)n / t;
}

static void
dump(const char *dir, const char *name, uint8_t cose[][128],
    const size_t *cose_len, const struct item *it)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.jsonl", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	for (size_t i = 0; i < N; i++) {
		char *k = fg_b64url_encode(cose[it[i].key], cose_len[it[i].key]);
		char *ad = fg_b64url_encode(it[i].ad, 37);
		char *cd = fg_b64url_encode((const uint8_t *)it[i].cdj,
		    strlen(it[i].cdj));
		char *sig = fg_b64url_encode(it[i].sig, it[i].sig_len);
		char *ch = fg_b64url_encode(it[i].chal, sizeof(it[i].chal));
		fprintf(f,
		    "{\"key\":\"%s\",\"authenticatorData\":\"%s\","
		    "\"clientDataJSON\":\"%s\",\"signature\":\"%s\","
		    "\"challenge\":\"%s\",\"counter\":%zu}\n",
		    k, ad, cd, sig, ch, i);
		free(k);
		free(ad);
		free(cd);
		free(sig);
		free(ch);
	}
	fclose(f);
}

int
main(int argc, char **argv)
{
	static struct item it[N];
	static uint8_t cose[KEYS][128];
	size_t cose_len[KEYS];
	EVP_PKEY *pk[KEYS];
	struct fg_pubkey *keys[KEYS];
	double secs = argc > 1 ? atof(argv[1]) : 3, fg_es, ossl_es, fg_ed,
	       ossl_ed;

	make_items(FG_COSE_ES256, pk, keys, cose, cose_len, it);
	if (argc > 2)
		dump(argv[2], "es256", cose, cose_len, it);
	/* interleaved halves, so that drift in the machine hits both */
	ossl_es = (run_openssl(FG_COSE_ES256, pk, it, secs / 2) +
		      run_openssl(FG_COSE_ES256, pk, it, secs / 2)) / 2;
	fg_es = run_fg(keys, it, secs / 2);
	fg_es = (fg_es + run_fg(keys, it, secs / 2)) / 2;
	for (size_t i = 0; i < KEYS; i++) {
		EVP_PKEY_free(pk[i]);
		fg_pubkey_free(&keys[i]);
	}
	for (size_t i = 0; i < N; i++)
		free(it[i].cdj);
	make_items(FG_COSE_EDDSA, pk, keys, cose, cose_len, it);
	ossl_ed = run_openssl(FG_COSE_EDDSA, pk, it, secs);
	fg_ed = run_fg(keys, it, secs);
	printf("{\"verify_es256_per_s\": %.0f, \"openssl_es256_per_s\": %.0f, "
	       "\"verify_vs_openssl_es256\": %.3f, \"verify_eddsa_per_s\": %.0f, "
	       "\"openssl_eddsa_per_s\": %.0f, \"verify_vs_openssl_eddsa\": %.3f}\n",
	    fg_es, ossl_es, fg_es / ossl_es, fg_ed, ossl_ed, fg_ed / ossl_ed);
	return 0;
}
