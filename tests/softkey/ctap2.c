/*
 * CTAP2 commands of the soft key (CTAP 2.1 §6): getInfo, makeCredential,
 * getAssertion, getNextAssertion, clientPIN (pin.c), reset and selection.
 * Every command runs with the state file locked and loaded, and saves it
 * when it changed, so concurrent processes see one key.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "softkey.h"

#define FLAG_UP 0x01
#define FLAG_UV 0x04
#define FLAG_AT 0x40
#define FLAG_ED 0x80

#define MAX_ALLOW_LIST 64
#define NEXT_ASSERTION_MS 30000
#define RESET_WINDOW_MS 10000

struct op {
	struct sk_dev *dev;
	struct sk_state st;
	bool dirty;
	enum sk_touch *touch;
	cbor_item_t *resp;
};

static bool
presence(struct op *op)
{
	if (op->dev->touch) {
		*op->touch = SK_TOUCH_GIVEN;
		return true;
	}
	*op->touch = SK_TOUCH_TIMED_OUT;
	return false;
}

static cbor_item_t *
text_array(const char *const *v, size_t n)
{
	cbor_item_t *a = cbor_new_definite_array(n), *s;

	for (size_t i = 0; a != NULL && i < n; i++) {
		if ((s = cbor_build_string(v[i])) == NULL ||
		    !cbor_array_push(a, s)) {
			if (s != NULL)
				cbor_decref(&s);
			cbor_decref(&a);
			return NULL;
		}
		cbor_decref(&s);
	}
	return a;
}

/* Pushes item and hands over the reference; NULL items fail. */
static bool
push_owned(cbor_item_t *array, cbor_item_t *item)
{
	bool ok = item != NULL && cbor_array_push(array, item);

	if (item != NULL)
		cbor_decref(&item);
	return ok;
}

static cbor_item_t *
alg_entry(int alg)
{
	cbor_item_t *m = cbor_new_definite_map(2);

	if (m != NULL &&
	    (!sk_map_put_str(m, "alg", sk_cbor_new_int(alg)) ||
		!sk_map_put_str(m, "type", cbor_build_string("public-key"))))
		cbor_decref(&m);
	return m;
}

static uint8_t
get_info(struct op *op)
{
	static const char *const versions[] = {
	    "U2F_V2", "FIDO_2_0", "FIDO_2_1"};
	static const char *const extensions[] = {"credProtect"};
	static const char *const transports[] = {"usb"};
	cbor_item_t *m, *opts, *algs, *protos;
	bool ok;

	m = cbor_new_definite_map(11);
	opts = cbor_new_definite_map(6);
	algs = cbor_new_definite_array(3);
	protos = cbor_new_definite_array(2);
	ok = m != NULL && opts != NULL && algs != NULL && protos != NULL &&
	    /* canonical order: shorter keys first, then bytewise */
	    sk_map_put_str(opts, "rk", cbor_build_bool(true)) &&
	    sk_map_put_str(opts, "up", cbor_build_bool(true)) &&
	    sk_map_put_str(opts, "uv", cbor_build_bool(false)) &&
	    sk_map_put_str(opts, "plat", cbor_build_bool(false)) &&
	    sk_map_put_str(
		opts, "clientPin", cbor_build_bool(op->st.pin_set)) &&
	    sk_map_put_str(opts, "pinUvAuthToken", cbor_build_bool(true)) &&
	    push_owned(algs, alg_entry(SK_COSE_ES256)) &&
	    push_owned(algs, alg_entry(SK_COSE_EDDSA)) &&
	    push_owned(algs, alg_entry(SK_COSE_RS256)) &&
	    (op->dev->pin_proto1_only ||
		push_owned(protos, sk_cbor_new_int(2))) &&
	    push_owned(protos, sk_cbor_new_int(1)) &&
	    sk_map_put_int(m, 1, text_array(versions, 3)) &&
	    sk_map_put_int(m, 2, text_array(extensions, 1)) &&
	    sk_map_put_int(m, 3, cbor_build_bytestring(op->st.aaguid, 16)) &&
	    sk_map_put_int(m, 4, cbor_incref(opts)) &&
	    sk_map_put_int(m, 5, sk_cbor_new_int(SK_MAX_CBOR_MSG)) &&
	    sk_map_put_int(m, 6, cbor_incref(protos)) &&
	    sk_map_put_int(m, 8, sk_cbor_new_int(128)) &&
	    sk_map_put_int(m, 9, text_array(transports, 1)) &&
	    sk_map_put_int(m, 10, cbor_incref(algs)) &&
	    sk_map_put_int(m, 13, sk_cbor_new_int(SK_PIN_MIN_LEN)) &&
	    sk_map_put_int(
		m, 20, sk_cbor_new_int((int64_t)(SK_MAX_RK - op->st.nrks)));
	if (opts != NULL)
		cbor_decref(&opts);
	if (protos != NULL)
		cbor_decref(&protos);
	if (algs != NULL)
		cbor_decref(&algs);
	if (!ok) {
		if (m != NULL)
			cbor_decref(&m);
		return SK_ERR_OTHER;
	}
	op->resp = m;
	return SK_OK;
}

/* rpIdHash ‖ flags ‖ signCount ‖ [attestedCredentialData] ‖ [extensions] */
static int
build_authdata(const uint8_t rp_id_hash[32], uint8_t flags, uint32_t count,
    const uint8_t *acd, size_t acd_len, const uint8_t *ext, size_t ext_len,
    uint8_t **out, size_t *out_len)
{
	size_t len = 37 + acd_len + ext_len;
	uint8_t *p;

	if ((p = malloc(len)) == NULL)
		return -1;
	memcpy(p, rp_id_hash, 32);
	p[32] = flags;
	p[33] = (uint8_t)(count >> 24);
	p[34] = (uint8_t)(count >> 16);
	p[35] = (uint8_t)(count >> 8);
	p[36] = (uint8_t)count;
	if (acd_len > 0)
		memcpy(p + 37, acd, acd_len);
	if (ext_len > 0)
		memcpy(p + 37 + acd_len, ext, ext_len);
	*out = p;
	*out_len = len;
	return 0;
}

static int
sign_with_cdh(const struct sk_cred *cred, const uint8_t *ad, size_t ad_len,
    const uint8_t cdh[32], uint8_t **sig, size_t *sig_len)
{
	uint8_t *msg;
	int r;

	if ((msg = malloc(ad_len + 32)) == NULL)
		return -1;
	memcpy(msg, ad, ad_len);
	memcpy(msg + ad_len, cdh, 32);
	r = sk_cred_sign(cred, msg, ad_len + 32, sig, sig_len);
	free(msg);
	return r;
}

/*
 * A zero-length pinUvAuthParam asks the key to wait for a touch and say
 * whether a PIN is set (CTAP 2.1 §6.1.2 step 1): libfido2 uses it to let
 * the user pick one of several keys.
 */
static uint8_t
touch_probe(struct op *op)
{
	if (!presence(op))
		return SK_ERR_USER_ACTION_TIMEOUT;
	return op->st.pin_set ? SK_ERR_PIN_INVALID : SK_ERR_PIN_NOT_SET;
}

/* Shared by makeCredential and getAssertion: options and PIN/UV auth. */
struct uvreq {
	bool up, uv, rk, have_auth;
	const uint8_t *auth;
	size_t auth_len;
	int64_t protocol;
};

static uint8_t
parse_options(const cbor_item_t *opts, struct uvreq *u, bool mc)
{
	struct cbor_pair *p;

	if (opts == NULL)
		return SK_OK;
	if (!cbor_isa_map(opts))
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	p = cbor_map_handle(opts);
	for (size_t i = 0; i < cbor_map_size(opts); i++) {
		char *k = sk_cbor_text(p[i].key);
		bool v;

		if (k == NULL || !cbor_is_bool(p[i].value)) {
			free(k);
			return SK_ERR_CBOR_UNEXPECTED_TYPE;
		}
		v = cbor_get_bool(p[i].value);
		if (strcmp(k, "up") == 0)
			u->up = v;
		else if (strcmp(k, "uv") == 0)
			u->uv = v;
		else if (strcmp(k, "rk") == 0)
			u->rk = v;
		/* unknown options are ignored, as the spec says */
		free(k);
	}
	if (mc && !u->up)
		return SK_ERR_INVALID_OPTION;
	if (!mc && u->rk)
		return SK_ERR_UNSUPPORTED_OPTION;
	return SK_OK;
}

static uint8_t
parse_uv_auth(const cbor_item_t *params, int64_t auth_key, struct uvreq *u)
{
	const cbor_item_t *a = sk_map_get_int(params, auth_key);
	const cbor_item_t *pr = sk_map_get_int(params, auth_key + 1);

	if (a == NULL)
		return SK_OK;
	if (!sk_cbor_bytes(a, &u->auth, &u->auth_len))
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	u->have_auth = true;
	if (u->auth_len == 0)
		return SK_OK;
	if (pr == NULL)
		return SK_ERR_MISSING_PARAMETER;
	if (!sk_cbor_int(pr, &u->protocol))
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	return SK_OK;
}

/* user verification through the PIN token; the uv option is then moot */
static uint8_t
verify_uv(struct op *op, struct uvreq *u, const uint8_t cdh[32], uint8_t perm,
    const char *rp_id)
{
	uint8_t status;

	if (u->have_auth) {
		status =
		    sk_pin_check_auth(op->dev, &op->st, (unsigned)u->protocol,
			cdh, 32, u->auth, u->auth_len, perm, rp_id);
		if (status != SK_OK)
			return status;
		u->uv = true;
		return SK_OK;
	}
	if (u->uv) /* no built-in user verification method */
		return SK_ERR_INVALID_OPTION;
	return SK_OK;
}

static uint8_t
get_cdh(const cbor_item_t *params, int64_t key, const uint8_t **cdh)
{
	size_t len;
	const cbor_item_t *v = sk_map_get_int(params, key);

	if (v == NULL)
		return SK_ERR_MISSING_PARAMETER;
	if (!sk_cbor_bytes(v, cdh, &len))
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	if (len != 32)
		return SK_ERR_INVALID_LENGTH;
	return SK_OK;
}

/* A PublicKeyCredentialDescriptor: {"id": bytes, "type": text}. */
static uint8_t
parse_descriptor(
    const cbor_item_t *d, const uint8_t **id, size_t *id_len, bool *public_key)
{
	char *type;

	if (!cbor_isa_map(d))
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	if (sk_map_get_str(d, "id") == NULL ||
	    sk_map_get_str(d, "type") == NULL)
		return SK_ERR_MISSING_PARAMETER;
	if (!sk_cbor_bytes(sk_map_get_str(d, "id"), id, id_len) ||
	    (type = sk_cbor_text(sk_map_get_str(d, "type"))) == NULL)
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	*public_key = strcmp(type, "public-key") == 0;
	free(type);
	return SK_OK;
}

static uint8_t
pick_alg(const cbor_item_t *params, int *alg)
{
	const cbor_item_t *a = sk_map_get_int(params, 4);
	int64_t v;

	if (a == NULL)
		return SK_ERR_MISSING_PARAMETER;
	if (!cbor_isa_array(a))
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	for (size_t i = 0; i < cbor_array_size(a); i++) {
		const cbor_item_t *e = cbor_array_handle(a)[i];
		char *type;
		bool pk;

		if (!cbor_isa_map(e) ||
		    !sk_cbor_int(sk_map_get_str(e, "alg"), &v) ||
		    (type = sk_cbor_text(sk_map_get_str(e, "type"))) == NULL)
			return SK_ERR_CBOR_UNEXPECTED_TYPE;
		pk = strcmp(type, "public-key") == 0;
		free(type);
		if (pk &&
		    (v == SK_COSE_ES256 || v == SK_COSE_EDDSA ||
			v == SK_COSE_RS256)) {
			*alg = (int)v;
			return SK_OK;
		}
	}
	return SK_ERR_UNSUPPORTED_ALGORITHM;
}

static uint8_t
store_rk(struct op *op, const char *rp_id, const uint8_t rp_id_hash[32],
    const cbor_item_t *user, const uint8_t *id, size_t id_len)
{
	const uint8_t *uid;
	size_t uid_len, slot;
	struct sk_rk rk, *rks;
	const cbor_item_t *v;

	memset(&rk, 0, sizeof(rk));
	if (!sk_cbor_bytes(sk_map_get_str(user, "id"), &uid, &uid_len) ||
	    uid_len == 0 || uid_len > sizeof(rk.user_id))
		return SK_ERR_INVALID_PARAMETER;
	/* a new credential for the same rp and user replaces the old one */
	for (slot = 0; slot < op->st.nrks; slot++)
		if (memcmp(op->st.rks[slot].rp_id_hash, rp_id_hash, 32) == 0 &&
		    op->st.rks[slot].user_id_len == uid_len &&
		    memcmp(op->st.rks[slot].user_id, uid, uid_len) == 0)
			break;
	if (slot == op->st.nrks && op->st.nrks == SK_MAX_RK)
		return SK_ERR_KEY_STORE_FULL;
	memcpy(rk.rp_id_hash, rp_id_hash, 32);
	memcpy(rk.user_id, uid, uid_len);
	rk.user_id_len = uid_len;
	if ((rk.rp_id = strdup(rp_id)) == NULL ||
	    (rk.cred_id = malloc(id_len)) == NULL)
		goto fail;
	memcpy(rk.cred_id, id, id_len);
	rk.cred_id_len = id_len;
	if ((v = sk_map_get_str(user, "name")) != NULL &&
	    (rk.user_name = sk_cbor_text(v)) == NULL)
		goto fail;
	if ((v = sk_map_get_str(user, "displayName")) != NULL &&
	    (rk.user_display_name = sk_cbor_text(v)) == NULL)
		goto fail;
	if (slot < op->st.nrks) { /* drop the old one, append the new */
		struct sk_rk old = op->st.rks[slot];

		memmove(&op->st.rks[slot], &op->st.rks[slot + 1],
		    (op->st.nrks - slot - 1) * sizeof(*rks));
		op->st.nrks--;
		free(old.rp_id);
		free(old.user_name);
		free(old.user_display_name);
		free(old.cred_id);
	}
	rks = reallocarray(op->st.rks, op->st.nrks + 1, sizeof(*rks));
	if (rks == NULL)
		goto fail;
	op->st.rks = rks;
	op->st.rks[op->st.nrks++] = rk;
	op->dirty = true;
	return SK_OK;
fail:
	free(rk.rp_id);
	free(rk.cred_id);
	free(rk.user_name);
	free(rk.user_display_name);
	return SK_ERR_OTHER;
}

/* The extensions output of authData: {"credProtect": level}. */
static int
ext_cred_protect(uint8_t level, uint8_t **buf, size_t *len)
{
	cbor_item_t *m = cbor_new_definite_map(1);
	int r = -1;

	if (m != NULL &&
	    sk_map_put_str(m, "credProtect", sk_cbor_new_int(level)))
		r = sk_cbor_encode(m, buf, len);
	if (m != NULL)
		cbor_decref(&m);
	return r;
}

/*
 * The attestation statement: "packed" with the batch certificate (x5c, the
 * default, as real keys do), "packed" self attestation, or "none".
 */
static cbor_item_t *
packed_stmt(const struct sk_cred *cred, const uint8_t *ad, size_t ad_len,
    const uint8_t cdh[32], bool batch)
{
	cbor_item_t *stmt = NULL, *x5c = NULL;
	uint8_t *sig = NULL, *der = NULL;
	size_t sig_len = 0, der_len = 0;
	struct sk_cred att = {0};
	const struct sk_cred *signer = cred;

	if (batch) {
		sk_attestation_cred(&att);
		signer = &att;
	}
	if (sign_with_cdh(signer, ad, ad_len, cdh, &sig, &sig_len) != 0)
		goto out;
	if (batch && (x5c = cbor_new_definite_array(
			  sk_attestation_chain_len())) == NULL)
		goto out;
	for (size_t i = 0; batch && i < sk_attestation_chain_len(); i++) {
		if (sk_attestation_chain_cert(ad + 37, i, &der, &der_len) !=
			0 ||
		    !push_owned(x5c, cbor_build_bytestring(der, der_len)))
			goto out;
		OPENSSL_free(der);
		der = NULL;
	}
	if ((stmt = cbor_new_definite_map(batch ? 3 : 2)) == NULL)
		goto out;
	if (!sk_map_put_str(stmt, "alg", sk_cbor_new_int(signer->alg)) ||
	    !sk_map_put_str(stmt, "sig", cbor_build_bytestring(sig, sig_len)) ||
	    (batch && !sk_map_put_str(stmt, "x5c", cbor_incref(x5c))))
		cbor_decref(&stmt);
out:
	OPENSSL_cleanse(&att, sizeof(att));
	if (x5c != NULL)
		cbor_decref(&x5c);
	OPENSSL_free(der);
	free(sig);
	return stmt;
}

static uint8_t
attest(struct op *op, const struct sk_cred *cred, const uint8_t *ad,
    size_t ad_len, const uint8_t cdh[32])
{
	const char *fmt = "packed";
	cbor_item_t *stmt;
	bool ok;

	if (strcmp(op->dev->attestation, "none") == 0) {
		fmt = "none";
		stmt = cbor_new_definite_map(0);
	} else {
		stmt = packed_stmt(cred, ad, ad_len, cdh,
		    strcmp(op->dev->attestation, "self") != 0);
	}
	if (stmt == NULL || (op->resp = cbor_new_definite_map(3)) == NULL) {
		if (stmt != NULL)
			cbor_decref(&stmt);
		return SK_ERR_OTHER;
	}
	ok = sk_map_put_int(op->resp, 1, cbor_build_string(fmt)) &&
	    sk_map_put_int(op->resp, 2, cbor_build_bytestring(ad, ad_len)) &&
	    sk_map_put_int(op->resp, 3, stmt);
	return ok ? SK_OK : SK_ERR_OTHER;
}

static uint8_t
make_credential(struct op *op, const cbor_item_t *params)
{
	const uint8_t *cdh, *id;
	const cbor_item_t *rp, *user, *excl, *ext, *cp;
	struct uvreq u = {.up = true};
	struct sk_cred cred;
	uint8_t rp_id_hash[32], *cred_id = NULL, *cose = NULL, *acd = NULL;
	uint8_t *ext_buf = NULL, *ad = NULL, flags, status, protect = 0;
	size_t cred_id_len = 0, cose_len = 0, acd_len, ext_len = 0, ad_len;
	size_t id_len;
	char *rp_id = NULL;
	int64_t level;
	int alg = 0;
	bool pk;
	uint32_t *counter;

	memset(&cred, 0, sizeof(cred));
	if ((status = get_cdh(params, 1, &cdh)) != SK_OK)
		return status;
	if ((rp = sk_map_get_int(params, 2)) == NULL ||
	    (user = sk_map_get_int(params, 3)) == NULL)
		return SK_ERR_MISSING_PARAMETER;
	if (!cbor_isa_map(rp) || !cbor_isa_map(user))
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	if (sk_map_get_str(rp, "id") == NULL ||
	    sk_map_get_str(user, "id") == NULL)
		return SK_ERR_MISSING_PARAMETER;
	if ((rp_id = sk_cbor_text(sk_map_get_str(rp, "id"))) == NULL)
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	if ((status = pick_alg(params, &alg)) != SK_OK ||
	    (status = parse_uv_auth(params, 8, &u)) != SK_OK)
		goto out;
	if (u.have_auth && u.auth_len == 0) {
		status = touch_probe(op);
		goto out;
	}
	if ((status = parse_options(sk_map_get_int(params, 7), &u, true)) !=
	    SK_OK)
		goto out;
	if (op->st.pin_set && !u.have_auth) {
		status = SK_ERR_PUAT_REQUIRED;
		goto out;
	}
	if ((status = verify_uv(op, &u, cdh, SK_PERM_MC, rp_id)) != SK_OK)
		goto out;
	sk_sha256(rp_id, strlen(rp_id), rp_id_hash);
	if ((ext = sk_map_get_int(params, 6)) != NULL) {
		if (!cbor_isa_map(ext)) {
			status = SK_ERR_CBOR_UNEXPECTED_TYPE;
			goto out;
		}
		if ((cp = sk_map_get_str(ext, "credProtect")) != NULL) {
			if (!sk_cbor_int(cp, &level) || level < 1 ||
			    level > 3) {
				status = SK_ERR_INVALID_PARAMETER;
				goto out;
			}
			protect = (uint8_t)level;
		}
	}
	if ((excl = sk_map_get_int(params, 5)) != NULL) {
		if (!cbor_isa_array(excl)) {
			status = SK_ERR_CBOR_UNEXPECTED_TYPE;
			goto out;
		}
		for (size_t i = 0; i < cbor_array_size(excl); i++) {
			struct sk_cred old;

			if ((status =
				    parse_descriptor(cbor_array_handle(excl)[i],
					&id, &id_len, &pk)) != SK_OK)
				goto out;
			if (pk &&
			    sk_cred_unwrap(
				&op->st, rp_id_hash, id, id_len, &old) == 0) {
				bool hidden = old.cred_protect == 3 && !u.uv;

				OPENSSL_cleanse(&old, sizeof(old));
				if (hidden)
					continue;
				status = presence(op)
				    ? SK_ERR_CREDENTIAL_EXCLUDED
				    : SK_ERR_USER_ACTION_TIMEOUT;
				goto out;
			}
		}
	}
	if (!presence(op)) {
		status = SK_ERR_USER_ACTION_TIMEOUT;
		goto out;
	}
	status = SK_ERR_OTHER;
	if (sk_cred_new(&op->st, &cred, alg, protect, u.rk) != 0 ||
	    sk_cred_wrap(&op->st, rp_id_hash, &cred, &cred_id, &cred_id_len) !=
		0 ||
	    sk_cred_cose_pubkey(&cred, &cose, &cose_len) != 0)
		goto out;
	if (u.rk &&
	    (status = store_rk(
		 op, rp_id, rp_id_hash, user, cred_id, cred_id_len)) != SK_OK)
		goto out;
	status = SK_ERR_OTHER;
	if ((counter = sk_state_counter(&op->st, cred_id, cred_id_len)) == NULL)
		goto out;
	op->dirty = true;
	acd_len = 16 + 2 + cred_id_len + cose_len;
	if ((acd = malloc(acd_len)) == NULL)
		goto out;
	memcpy(acd, op->st.aaguid, 16);
	acd[16] = (uint8_t)(cred_id_len >> 8);
	acd[17] = (uint8_t)cred_id_len;
	memcpy(acd + 18, cred_id, cred_id_len);
	memcpy(acd + 18 + cred_id_len, cose, cose_len);
	flags = FLAG_UP | FLAG_AT | (u.uv ? FLAG_UV : 0);
	if (protect != 0) {
		if (ext_cred_protect(protect, &ext_buf, &ext_len) != 0)
			goto out;
		flags |= FLAG_ED;
	}
	if (build_authdata(rp_id_hash, flags, *counter, acd, acd_len, ext_buf,
		ext_len, &ad, &ad_len) != 0)
		goto out;
	status = attest(op, &cred, ad, ad_len, cdh);
out:
	OPENSSL_cleanse(&cred, sizeof(cred));
	free(ext_buf);
	free(ad);
	free(acd);
	free(cose);
	free(cred_id);
	free(rp_id);
	return status;
}

/* Signs one assertion for credential id and builds the response map. */
static uint8_t
assert_one(struct op *op, const uint8_t rp_id_hash[32], const uint8_t cdh[32],
    uint8_t flags, const uint8_t *id, size_t id_len, const struct sk_rk *rk,
    bool user_details, size_t count)
{
	struct sk_cred cred;
	uint32_t *counter;
	uint8_t *ad = NULL, *sig = NULL;
	size_t ad_len = 0, sig_len = 0;
	cbor_item_t *desc = NULL, *user = NULL;
	uint8_t status = SK_ERR_OTHER;
	bool ok;

	if (sk_cred_unwrap(&op->st, rp_id_hash, id, id_len, &cred) != 0)
		return SK_ERR_NO_CREDENTIALS;
	if ((counter = sk_state_counter(&op->st, id, id_len)) == NULL)
		goto out;
	(*counter)++; /* only ever up, and saved before the reply */
	op->dirty = true;
	if (build_authdata(rp_id_hash, flags, *counter, NULL, 0, NULL, 0, &ad,
		&ad_len) != 0 ||
	    sign_with_cdh(&cred, ad, ad_len, cdh, &sig, &sig_len) != 0)
		goto out;
	if ((desc = cbor_new_definite_map(2)) == NULL ||
	    !sk_map_put_str(desc, "id", cbor_build_bytestring(id, id_len)) ||
	    !sk_map_put_str(desc, "type", cbor_build_string("public-key")))
		goto out;
	if (rk != NULL) {
		user_details = user_details &&
		    (rk->user_name != NULL || rk->user_display_name != NULL);
		if ((user = cbor_new_definite_map(user_details ? 3 : 1)) ==
			NULL ||
		    !sk_map_put_str(user, "id",
			cbor_build_bytestring(rk->user_id, rk->user_id_len)))
			goto out;
		if (user_details && rk->user_name != NULL &&
		    !sk_map_put_str(
			user, "name", cbor_build_string(rk->user_name)))
			goto out;
		if (user_details && rk->user_display_name != NULL &&
		    !sk_map_put_str(user, "displayName",
			cbor_build_string(rk->user_display_name)))
			goto out;
	}
	if ((op->resp = cbor_new_definite_map(5)) == NULL)
		goto out;
	ok = sk_map_put_int(op->resp, 1, cbor_incref(desc)) &&
	    sk_map_put_int(op->resp, 2, cbor_build_bytestring(ad, ad_len)) &&
	    sk_map_put_int(op->resp, 3, cbor_build_bytestring(sig, sig_len)) &&
	    (user == NULL || sk_map_put_int(op->resp, 4, cbor_incref(user))) &&
	    (count <= 1 ||
		sk_map_put_int(op->resp, 5, sk_cbor_new_int((int64_t)count)));
	if (ok)
		status = SK_OK;
out:
	OPENSSL_cleanse(&cred, sizeof(cred));
	if (desc != NULL)
		cbor_decref(&desc);
	if (user != NULL)
		cbor_decref(&user);
	free(ad);
	free(sig);
	return status;
}

static const struct sk_rk *
find_rk(const struct sk_state *st, const uint8_t *id, size_t id_len)
{
	for (size_t i = 0; i < st->nrks; i++)
		if (st->rks[i].cred_id_len == id_len &&
		    memcmp(st->rks[i].cred_id, id, id_len) == 0)
			return &st->rks[i];
	return NULL;
}

static void
next_clear(struct sk_dev *dev)
{
	for (size_t i = 0; i < dev->next.count; i++)
		free(dev->next.ids[i]);
	memset(&dev->next, 0, sizeof(dev->next));
}

/* Would this credential be found for the request (credProtect)? */
static bool
usable(const struct sk_state *st, const uint8_t rp_id_hash[32],
    const uint8_t *id, size_t id_len, bool uv, bool from_allow_list)
{
	struct sk_cred c;
	bool ok;

	if (sk_cred_unwrap(st, rp_id_hash, id, id_len, &c) != 0)
		return false;
	ok = c.cred_protect < 2 || uv ||
	    (c.cred_protect == 2 && from_allow_list);
	OPENSSL_cleanse(&c, sizeof(c));
	return ok;
}

static uint8_t
get_assertion(struct op *op, const cbor_item_t *params)
{
	const uint8_t *cdh, *id = NULL;
	const cbor_item_t *allow;
	struct uvreq u = {.up = true};
	uint8_t rp_id_hash[32], status, flags;
	size_t id_len = 0;
	char *rp_id;
	bool pk;
	struct sk_next *nx = &op->dev->next;

	next_clear(op->dev);
	if (sk_map_get_int(params, 1) == NULL)
		return SK_ERR_MISSING_PARAMETER;
	if ((rp_id = sk_cbor_text(sk_map_get_int(params, 1))) == NULL)
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	if ((status = get_cdh(params, 2, &cdh)) != SK_OK ||
	    (status = parse_uv_auth(params, 6, &u)) != SK_OK)
		goto out;
	if (u.have_auth && u.auth_len == 0) {
		status = touch_probe(op);
		goto out;
	}
	if ((status = parse_options(sk_map_get_int(params, 5), &u, false)) !=
		SK_OK ||
	    (status = verify_uv(op, &u, cdh, SK_PERM_GA, rp_id)) != SK_OK)
		goto out;
	sk_sha256(rp_id, strlen(rp_id), rp_id_hash);
	if ((allow = sk_map_get_int(params, 3)) != NULL) {
		if (!cbor_isa_array(allow)) {
			status = SK_ERR_CBOR_UNEXPECTED_TYPE;
			goto out;
		}
		if (cbor_array_size(allow) > MAX_ALLOW_LIST) {
			status = SK_ERR_REQUEST_TOO_LARGE;
			goto out;
		}
		for (size_t i = 0; i < cbor_array_size(allow); i++) {
			const uint8_t *cand;
			size_t cand_len;

			if ((status = parse_descriptor(
				 cbor_array_handle(allow)[i], &cand, &cand_len,
				 &pk)) != SK_OK)
				goto out;
			if (id == NULL && pk &&
			    usable(&op->st, rp_id_hash, cand, cand_len, u.uv,
				true)) {
				id = cand;
				id_len = cand_len;
			}
		}
	}
	if (allow == NULL) { /* discoverable credentials, newest first */
		for (size_t i = op->st.nrks; i-- > 0;) {
			const struct sk_rk *rk = &op->st.rks[i];
			uint8_t *copy;

			if (memcmp(rk->rp_id_hash, rp_id_hash, 32) != 0 ||
			    !usable(&op->st, rp_id_hash, rk->cred_id,
				rk->cred_id_len, u.uv, false))
				continue;
			if ((copy = malloc(rk->cred_id_len)) == NULL) {
				status = SK_ERR_OTHER;
				goto out;
			}
			memcpy(copy, rk->cred_id, rk->cred_id_len);
			nx->ids[nx->count] = copy;
			nx->id_lens[nx->count++] = rk->cred_id_len;
		}
		if (nx->count > 0) {
			id = nx->ids[0];
			id_len = nx->id_lens[0];
		}
	}
	if (id == NULL) {
		status = SK_ERR_NO_CREDENTIALS;
		goto out;
	}
	if (u.up && !presence(op)) {
		status = SK_ERR_USER_ACTION_TIMEOUT;
		goto out;
	}
	flags = (uint8_t)((u.up ? FLAG_UP : 0) | (u.uv ? FLAG_UV : 0));
	status = assert_one(op, rp_id_hash, cdh, flags, id, id_len,
	    find_rk(&op->st, id, id_len), u.uv && nx->count > 1,
	    allow == NULL ? nx->count : 1);
	if (status == SK_OK && nx->count > 1) {
		nx->active = true;
		memcpy(nx->rp_id_hash, rp_id_hash, 32);
		memcpy(nx->cdh, cdh, 32);
		nx->flags = flags;
		nx->next = 1;
		nx->user_details = u.uv;
		nx->expires_ms = sk_now_ms() + NEXT_ASSERTION_MS;
	}
out:
	if (!nx->active)
		next_clear(op->dev);
	free(rp_id);
	return status;
}

static uint8_t
get_next_assertion(struct op *op)
{
	struct sk_next *nx = &op->dev->next;
	uint8_t status;

	if (!nx->active || nx->next >= nx->count ||
	    sk_now_ms() > nx->expires_ms) {
		next_clear(op->dev);
		return SK_ERR_NOT_ALLOWED;
	}
	status = assert_one(op, nx->rp_id_hash, nx->cdh, nx->flags,
	    nx->ids[nx->next], nx->id_lens[nx->next],
	    find_rk(&op->st, nx->ids[nx->next], nx->id_lens[nx->next]),
	    nx->user_details, 0);
	nx->next++;
	return status;
}

static uint8_t
reset(struct op *op)
{
	if (sk_now_ms() - op->dev->powered_ms > RESET_WINDOW_MS)
		return SK_ERR_NOT_ALLOWED;
	if (!presence(op))
		return SK_ERR_USER_ACTION_TIMEOUT;
	sk_state_clear(&op->st);
	if (sk_state_init(&op->st, NULL) != 0)
		return SK_ERR_OTHER;
	sk_pin_forget(op->dev);
	next_clear(op->dev);
	op->dev->pin_consecutive = 0;
	op->dirty = true;
	return SK_OK;
}

static bool
has_duplicate_keys(const cbor_item_t *map)
{
	struct cbor_pair *p = cbor_map_handle(map);
	size_t n = cbor_map_size(map);
	int64_t a, b;

	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (sk_cbor_int(p[i].key, &a) &&
			    sk_cbor_int(p[j].key, &b) && a == b)
				return true;
	return false;
}

static uint8_t
parse_params(const uint8_t *buf, size_t len, cbor_item_t **params)
{
	struct cbor_load_result res;

	*params = NULL;
	if (len == 0)
		return SK_ERR_MISSING_PARAMETER;
	*params = cbor_load(buf, len, &res);
	if (*params == NULL || res.error.code != CBOR_ERR_NONE ||
	    res.read != len) {
		if (*params != NULL)
			cbor_decref(params);
		return SK_ERR_INVALID_CBOR;
	}
	if (!cbor_isa_map(*params)) {
		cbor_decref(params);
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	}
	if (has_duplicate_keys(*params)) { /* not canonical CBOR */
		cbor_decref(params);
		return SK_ERR_INVALID_CBOR;
	}
	return SK_OK;
}

uint8_t
sk_ctap2_dispatch(struct sk_dev *dev, const uint8_t *req, size_t req_len,
    uint8_t **resp, size_t *resp_len, enum sk_touch *touch)
{
	struct op op = {.dev = dev, .touch = touch};
	cbor_item_t *params = NULL;
	uint8_t *enc = NULL, status, cmd = req[0];
	size_t enc_len = 0;
	int lock = -1;

	*resp = NULL;
	*resp_len = 0;
	*touch = SK_TOUCH_NONE;
	switch (cmd) {
	case SK_CTAP_MAKE_CREDENTIAL:
	case SK_CTAP_GET_ASSERTION:
	case SK_CTAP_CLIENT_PIN:
		if ((status = parse_params(req + 1, req_len - 1, &params)) !=
		    SK_OK)
			return status;
		break;
	case SK_CTAP_GET_INFO:
	case SK_CTAP_RESET:
	case SK_CTAP_GET_NEXT_ASSERTION:
	case SK_CTAP_SELECTION:
		if (req_len != 1)
			return SK_ERR_INVALID_LENGTH;
		break;
	default:
		return SK_ERR_INVALID_COMMAND;
	}
	if ((lock = sk_state_open(dev->state_path, dev->initial_pin, &op.st)) <
	    0) {
		status = SK_ERR_OTHER;
		goto out;
	}
	switch (cmd) {
	case SK_CTAP_MAKE_CREDENTIAL:
		status = make_credential(&op, params);
		break;
	case SK_CTAP_GET_ASSERTION:
		status = get_assertion(&op, params);
		break;
	case SK_CTAP_GET_NEXT_ASSERTION:
		status = get_next_assertion(&op);
		break;
	case SK_CTAP_CLIENT_PIN:
		status =
		    sk_client_pin(dev, &op.st, params, &op.resp, &op.dirty);
		break;
	case SK_CTAP_RESET:
		status = reset(&op);
		break;
	case SK_CTAP_SELECTION:
		status = presence(&op) ? SK_OK : SK_ERR_USER_ACTION_TIMEOUT;
		break;
	default:
		status = get_info(&op);
		break;
	}
	if (op.dirty && sk_state_save(dev->state_path, &op.st) != 0)
		status = SK_ERR_OTHER; /* never sign what was not saved */
	if (status == SK_OK && op.resp != NULL) {
		if (sk_cbor_encode(op.resp, &enc, &enc_len) != 0 ||
		    (*resp = malloc(enc_len + 1)) == NULL) {
			status = SK_ERR_OTHER;
		} else {
			memcpy(*resp + 1, enc, enc_len);
			*resp_len = enc_len + 1;
		}
	}
out:
	if (enc != NULL) {
		OPENSSL_cleanse(enc, enc_len);
		free(enc);
	}
	if (op.resp != NULL)
		cbor_decref(&op.resp);
	if (params != NULL)
		cbor_decref(&params);
	sk_state_close(lock, &op.st);
	return status;
}
