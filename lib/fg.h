/*
 * fido2gate's shared internals: the error codes, encodings, the COSE and
 * authenticatorData parsers, the assertion and attestation verifiers, the
 * agent protocol framing and the libfido2 device helpers. Linked into the
 * agent, the PAM module and the CLI; never installed as a public API. The
 * contract between the agent and its clients is include/fido2gate/.
 */
#ifndef FG_H
#define FG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cbor.h>
#include <jansson.h>
#include <openssl/evp.h>

#include <fido2gate/client.h>
#include <fido2gate/error.h>
#include <fido2gate/protocol.h>

#define FG_VERSION "0.3.0"

/* b64.c: base64url without padding (RFC 4648 §5), as WebAuthn uses it. */
int fg_b64url_decode(const char *in, uint8_t **out, size_t *outlen);
char *fg_b64url_encode(const uint8_t *in, size_t len);
/* plain base64 with its padding (pam-u2f's files) */
int fg_b64_decode(const char *in, uint8_t **out, size_t *outlen);

/* cose.c: a stored credential public key. */
enum fg_cose_alg {
	FG_COSE_ES256 = -7,
	FG_COSE_EDDSA = -8,
	FG_COSE_ED25519 = -19,
	FG_COSE_ES384 = -35,
	FG_COSE_ES512 = -36,
	FG_COSE_ED448 = -53,
	FG_COSE_RS256 = -257,
};

struct fg_pubkey;

/* Both return FG_OK, FG_ERR_INVALID (malformed key), FG_ERR_UNSUPPORTED
 * (an algorithm we do not implement) or FG_ERR_NOMEM. */
/* cbor.c: cbor_load() for outside input, after checking that no count in
 * the item claims more elements than its bytes could hold; NULL too when
 * a map, at any depth, repeats a key or has a key that is neither an
 * integer nor a string. */
bool fg_cbor_well_sized(const uint8_t *p, size_t len, size_t *item_len);
cbor_item_t *fg_cbor_load(const uint8_t *p, size_t len,
    struct cbor_load_result *res);

int fg_pubkey_from_cose(const uint8_t *cbor, size_t len, struct fg_pubkey **out);
int fg_pubkey_from_pem(const char *pem, const char *alg, struct fg_pubkey **out);
/* a key from a certificate, checked against alg; pkey is not consumed */
int fg_pubkey_from_evp(EVP_PKEY *pkey, int alg, struct fg_pubkey **out);
int fg_pubkey_alg(const struct fg_pubkey *key);
/* A COSE_Key (malloc'd CBOR) from a raw public key, as libfido2 hands it
 * out and pam-u2f stores it: ES256 the point x||y (64 bytes) or 04||x||y
 * (65), EdDSA the Ed25519 key (32), RS256 the modulus (256) then the
 * exponent (3). FG_ERR_INVALID for another length or a key that does not
 * load (a point off the curve), FG_ERR_UNSUPPORTED for another alg. */
int fg_cose_from_raw(int alg, const uint8_t *raw, size_t len, uint8_t **cose,
    size_t *cose_len);
void fg_pubkey_free(struct fg_pubkey **key);
const char *fg_cose_alg_name(int alg);
bool fg_cose_alg_allowed(int alg); /* ES256, EdDSA or RS256 */
/* true when sig is a valid signature by key over msg (ES*: canonical DER) */
bool fg_pubkey_verify(const struct fg_pubkey *key, const uint8_t *msg,
    size_t msglen, const uint8_t *sig, size_t siglen);

/* authdata.c: WebAuthn §6.1 authenticator data. */
#define FG_AD_UP 0x01
#define FG_AD_UV 0x04
#define FG_AD_BE 0x08
#define FG_AD_BS 0x10
#define FG_AD_AT 0x40
#define FG_AD_ED 0x80
#define FG_AD_MIN 37

struct fg_authdata {
	const uint8_t *rp_id_hash; /* 32 bytes */
	uint8_t flags;
	uint32_t sign_count;
	const uint8_t *aaguid; /* 16 bytes, when AT */
	const uint8_t *cred_id;
	size_t cred_id_len;
	const uint8_t *cose_key;
	size_t cose_key_len;
};

/* FG_OK or FG_ERR_INVALID; the header fields are set whenever len >= 37. */
int fg_authdata_parse(const uint8_t *p, size_t len, struct fg_authdata *ad);

/* verify.c: the WebAuthn Level 3 §7.2 assertion checks. */
enum fg_check {
	FG_CHK_TYPE = 1u << 0,
	FG_CHK_CHALLENGE = 1u << 1,
	FG_CHK_ORIGIN = 1u << 2,
	FG_CHK_CROSS_ORIGIN = 1u << 3,
	FG_CHK_TOP_ORIGIN = 1u << 4,
	FG_CHK_CLIENT_DATA = 1u << 5,
	FG_CHK_RP_ID = 1u << 6,
	FG_CHK_UP = 1u << 7,
	FG_CHK_UV = 1u << 8,
	FG_CHK_BS_WITHOUT_BE = 1u << 9,
	FG_CHK_AUTHDATA = 1u << 10,
	FG_CHK_SIGNATURE = 1u << 11,
	FG_CHK_COUNTER = 1u << 12,
	FG_CHK_ALG = 1u << 13,
	FG_CHK_KEY = 1u << 14,
};
#define FG_CHK_COUNT 15

const char *fg_check_name(unsigned bit);

struct fg_expect {
	const char *rp_id;
	const char *appid; /* NULL: none */
	const uint8_t *challenge;
	size_t challenge_len;
	const char *const *origins;
	size_t n_origins;
	const char *type; /* NULL: "webauthn.get" */
	bool user_presence;
	bool user_verification;
	bool allow_cross_origin;
	const char *const *top_origins;
	size_t n_top_origins;
	bool have_stored_count;
	uint32_t stored_count;
};

struct fg_assertion {
	const uint8_t *authdata;
	size_t authdata_len;
	const uint8_t *client_data_json; /* WebAuthn form, or */
	size_t client_data_json_len;
	const uint8_t *client_data_hash; /* the raw CTAP2 form */
	size_t client_data_hash_len;
	const uint8_t *sig;
	size_t sig_len;
};

struct fg_verdict {
	unsigned failed; /* FG_CHK_* bits; 0 means accepted */
	bool have_flags;
	uint8_t flags;
	uint32_t sign_count;
};

/* key_status is FG_OK, FG_ERR_INVALID or FG_ERR_UNSUPPORTED (from the
 * fg_pubkey_from_* call); key is used only when it is FG_OK. Runs every
 * check and reports each that fails; returns FG_OK or FG_ERR_NOMEM. */
int fg_verify_assertion(const struct fg_pubkey *key, int key_status,
    const struct fg_assertion *a, const struct fg_expect *e,
    struct fg_verdict *v);

/* The client-data checks alone (type, challenge, origin, crossOrigin,
 * topOrigin), for enrolment's webauthn.create. */
int fg_client_data_check(const uint8_t *cdj, size_t len,
    const struct fg_expect *e, unsigned *failed);
/* "a,b,c" from FG_CHK_* bits, into buf */
const char *fg_checks_string(unsigned failed, char *buf, size_t len);

/* attest.c: attestation statements at enrolment. */
#define FG_X5C_MAX 8 /* certificates in one statement's x5c */
struct stack_st_X509;
struct x509_store_st;

struct fg_attest_result {
	int alg;		/* the credential's COSE algorithm */
	uint8_t *cred_id;	/* malloc'd */
	size_t cred_id_len;
	uint8_t *cose_key;	/* malloc'd */
	size_t cose_key_len;
	uint8_t aaguid[16];
	uint8_t flags;
	uint32_t sign_count;
	char kind[16];		/* "none", "self", "basic" */
	char subject[256];	/* the attestation certificate's subject, if any */
	struct stack_st_X509 *x5c; /* STACK_OF(X509), leaf first; NULL: none */
	char root[256];		/* the trusted root it chained to, if checked */
};

/* Verifies fmt/authData/attStmt against clientDataHash and rp_id.
 * FG_OK, FG_ERR_INVALID (a malformed object), FG_ERR_DENIED (a statement
 * that does not verify), FG_ERR_UNSUPPORTED (an unknown format). */
int fg_attest_verify(const char *fmt, const uint8_t *authdata,
    size_t authdata_len, const uint8_t *attstmt, size_t attstmt_len,
    const uint8_t cdh[32], const char *rp_id, struct fg_attest_result *res,
    char *why, size_t whylen);
void fg_attest_result_clear(struct fg_attest_result *res);
/* A browser's attestationObject (WebAuthn §6.5: {fmt, authData, attStmt}
 * in CBOR) into what fg_attest_verify takes: fmt, the authenticator data
 * and the statement (CBOR), both malloc'd. FG_OK, FG_ERR_INVALID (not
 * such an object), FG_ERR_NOMEM. */
int fg_attest_object_split(const uint8_t *obj, size_t len, char *fmt,
    size_t fmtlen, uint8_t **ad, size_t *ad_len, uint8_t **st,
    size_t *st_len);

/*
 * attest_policy.c: which verified attestations an enrolment accepts. One
 * check for every enrolment path: fg_attest_verify() says the statement
 * is genuine, fg_attest_policy_check() says whether it is acceptable.
 */
enum fg_attest_require {
	FG_ATTEST_OPTIONAL, /* any verified statement, none included */
	FG_ATTEST_REQUIRED, /* not fmt none */
	FG_ATTEST_HARDWARE, /* a certificate (x5c): neither none nor self */
};

struct fg_aaguid_list {
	uint8_t (*ids)[16];
	size_t n;
};

struct fg_attest_policy {
	enum fg_attest_require require;
	struct x509_store_st *roots; /* X509_STORE; NULL: chains not checked */
	struct fg_aaguid_list allow; /* empty: every AAGUID */
	struct fg_aaguid_list deny;  /* wins over allow */
};

/* FG_OK, or FG_ERR_DENIED with why "attestation refused: ...". On success
 * res->root names the trusted root the chain reached, when roots are set. */
int fg_attest_policy_check(const struct fg_attest_policy *p,
    struct fg_attest_result *res, char *why, size_t whylen);
/* The trusted roots: every certificate of a PEM file, or of each PEM file
 * in a folder (names starting with '.' skipped). Each file must be a
 * regular file of root or of our own user, not writable by group or
 * others, and hold at least one certificate. */
int fg_attest_roots_load(const char *path, struct x509_store_st **out,
    char *err, size_t errlen);
void fg_attest_policy_clear(struct fg_attest_policy *p);
/* The 8-4-4-4-12 hex text form, either case, into 16 bytes; and back
 * (lower case, 37 bytes with the NUL). */
bool fg_aaguid_parse(const char *text, uint8_t out[16]);
const char *fg_aaguid_text(const uint8_t id[16], char out[37]);
int fg_aaguid_list_add(struct fg_aaguid_list *l, const uint8_t id[16]);
bool fg_aaguid_list_has(const struct fg_aaguid_list *l, const uint8_t id[16]);

/* proto.c: the agent protocol's records (include/fido2gate/protocol.h). */
/* Connects without blocking; a busy agent's full queue is retried until
 * timeout_ms. FG_ERR_UNAVAIL (nobody listens), FG_ERR_TIMEOUT. */
int fg_connect(const char *path, int timeout_ms, int *fd);
int fg_msg_send(int fd, const json_t *msg);
/* Waits up to timeout_ms (-1: forever). FG_ERR_TOOBIG, FG_ERR_INVALID
 * (not a JSON object), FG_ERR_PROTO (peer closed), FG_ERR_TIMEOUT. */
int fg_msg_recv(int fd, int timeout_ms, size_t max, json_t **out);
/* fg_msg_recv in two steps, for a reader that decides between them
 * whether the record is worth parsing: one record's bytes (free with
 * fg_wipe_free), then the JSON object they hold (FG_ERR_INVALID if not). */
int fg_msg_read(int fd, int timeout_ms, size_t max, char **out,
    size_t *outlen);
int fg_msg_parse(const char *buf, size_t len, json_t **out);
/* send a request and wait for its reply; checks the version */
int fg_call(int fd, const json_t *req, int timeout_ms, json_t **reply);

/* The clientDataJSON a native client (the PAM module, the CLI) signs. */
char *fg_client_data_json(const char *type, const uint8_t *challenge,
    size_t len, const char *origin);

/* JSON field helpers: NULL when absent or of the wrong type. */
const char *fg_json_str(const json_t *obj, const char *key);
int fg_json_b64(const json_t *obj, const char *key, uint8_t **out,
    size_t *outlen);

/* util.c */
void fg_sha256(const void *in, size_t len, uint8_t out[32]);
int fg_random(void *buf, size_t len);
bool fg_user_name_valid(const char *name);
void fg_wipe_free(void *p, size_t len);
int64_t fg_now_ms(void); /* monotonic milliseconds */
/* True when UTF-8 text holds nothing a terminal would act on: no C0 or C1
 * control, DEL, or bidirectional override. */
bool fg_text_printable(const char *s, size_t len);
/* s for a terminal: each such byte as \xNN; truncated to fit buf. */
const char *fg_text_escape(const char *s, char *buf, size_t len);

#endif
