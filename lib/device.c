/*
 * The key side, for the PAM module and the CLI: open every key libfido2
 * finds, find the one that holds a credential without asking for a touch,
 * decide how user verification will happen, and turn libfido2's errors
 * into sentences a person can act on.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cbor.h>

#include "fg.h"
#include "fg_device.h"
#include "intl.h"

int
fg_devs_open(struct fg_devs *d, int timeout_ms)
{
	size_t found = 0, i;

	memset(d, 0, sizeof(*d));
	if ((d->info = fido_dev_info_new(FG_DEVS_MAX)) == NULL)
		return FG_ERR_NOMEM;
	if (fido_dev_info_manifest(d->info, FG_DEVS_MAX, &found) != FIDO_OK)
		found = 0;
	d->n_info = FG_DEVS_MAX;
	for (i = 0; i < found && d->n < FG_DEVS_MAX; i++) {
		const fido_dev_info_t *di = fido_dev_info_ptr(d->info, i);
		fido_dev_t *dev;
		if (di == NULL || (dev = fido_dev_new_with_info(di)) == NULL)
			continue;
		if (fido_dev_open_with_info(dev) != FIDO_OK) {
			fido_dev_free(&dev);
			continue;
		}
		/* a key we cannot bound in time is a key we do not use */
		if (timeout_ms > 0 &&
		    fido_dev_set_timeout(dev, timeout_ms) != FIDO_OK) {
			fido_dev_close(dev);
			fido_dev_free(&dev);
			continue;
		}
		d->dev[d->n++] = dev;
	}
	return FG_OK;
}

void
fg_devs_close(struct fg_devs *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		fido_dev_cancel(d->dev[i]);
		fido_dev_close(d->dev[i]);
		fido_dev_free(&d->dev[i]);
	}
	d->n = 0;
	if (d->info != NULL)
		fido_dev_info_free(&d->info, d->n_info);
}

static int
fill_assert(fido_assert_t *a, const char *rp_id, const uint8_t cdh[32],
    const struct fg_id_list *ids)
{
	size_t i;

	if (fido_assert_set_rp(a, rp_id) != FIDO_OK ||
	    fido_assert_set_clientdata_hash(a, cdh, 32) != FIDO_OK)
		return FG_ERR_INTERNAL;
	for (i = 0; i < ids->n; i++)
		if (fido_assert_allow_cred(a, ids->id[i], ids->len[i]) !=
		    FIDO_OK)
			return FG_ERR_INTERNAL;
	return FG_OK;
}

/* Errors that mean "this key cannot answer a silent probe", as opposed
 * to a key that failed. */
static bool
probe_unsupported(int r)
{
	return r == FIDO_ERR_UNSUPPORTED_OPTION || r == FIDO_ERR_INVALID_OPTION ||
	    r == FIDO_ERR_PIN_REQUIRED || r == FIDO_ERR_UV_BLOCKED;
}

int
fg_devs_probe(struct fg_devs *d, const char *rp_id,
    const struct fg_id_list *ids, size_t *which)
{
	uint8_t cdh[32];
	size_t i, unsure = 0, failed = 0;

	if (fg_random(cdh, sizeof(cdh)) != FG_OK)
		return FG_ERR_INTERNAL;
	for (i = 0; i < d->n; i++) {
		fido_assert_t *a = fido_assert_new();
		int r;

		if (a == NULL)
			return FG_ERR_NOMEM;
		if (fill_assert(a, rp_id, cdh, ids) != FG_OK ||
		    fido_assert_set_up(a, FIDO_OPT_FALSE) != FIDO_OK) {
			fido_assert_free(&a);
			return FG_ERR_INTERNAL;
		}
		r = fido_dev_get_assert(d->dev[i], a, NULL);
		fido_assert_free(&a);
		if (r == FIDO_OK) {
			*which = i;
			return FG_OK;
		}
		if (probe_unsupported(r) && unsure++ == 0)
			*which = i;
		else if (r != FIDO_ERR_NO_CREDENTIALS)
			failed++;
	}
	if (unsure > 0)
		return FG_ERR_UNSUPPORTED;
	return failed > 0 ? FG_ERR_IO : FG_ERR_NOTFOUND;
}

int
fg_devs_touch_select(struct fg_devs *d, int timeout_ms, size_t *which)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	size_t i, started = 0;
	int waited = 0, touched, ret = FG_ERR_TIMEOUT;

	for (i = 0; i < d->n; i++)
		if (fido_dev_get_touch_begin(d->dev[i]) == FIDO_OK)
			started++;
	if (started == 0)
		return FG_ERR_UNSUPPORTED;
	while (waited < timeout_ms && ret == FG_ERR_TIMEOUT) {
		for (i = 0; i < d->n; i++) {
			if (fido_dev_get_touch_status(d->dev[i], &touched,
				50) == FIDO_OK &&
			    touched) {
				*which = i;
				ret = FG_OK;
				break;
			}
		}
		nanosleep(&pause, NULL);
		waited += 100 + 50 * (int)d->n;
	}
	for (i = 0; i < d->n; i++)
		fido_dev_cancel(d->dev[i]);
	return ret;
}

enum fg_uv_mode
fg_dev_uv_mode(fido_dev_t *dev, enum fg_uv_policy policy)
{
	bool required = policy == FG_UV_REQUIRED;

	if (policy == FG_UV_DISCOURAGED)
		return FG_UV_NONE;
	if (fido_dev_has_pin(dev))
		return FG_UV_PIN;
	if (fido_dev_has_uv(dev))
		return FG_UV_BUILTIN;
	return required ? FG_UV_IMPOSSIBLE : FG_UV_NONE;
}

int
fg_dev_assert(fido_dev_t *dev, const char *rp_id, const uint8_t cdh[32],
    const struct fg_id_list *ids, enum fg_uv_mode uv, const char *pin,
    struct fg_assert_out *out, int *fido_err)
{
	fido_assert_t *a = NULL;
	struct cbor_load_result lr;
	cbor_item_t *item = NULL;
	const uint8_t *p, *id, *sig;
	int r, ret = FG_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	*fido_err = FIDO_OK;
	if ((a = fido_assert_new()) == NULL)
		return FG_ERR_NOMEM;
	if (fill_assert(a, rp_id, cdh, ids) != FG_OK ||
	    fido_assert_set_up(a, FIDO_OPT_TRUE) != FIDO_OK ||
	    (uv == FG_UV_BUILTIN &&
		fido_assert_set_uv(a, FIDO_OPT_TRUE) != FIDO_OK))
		goto out;
	r = fido_dev_get_assert(dev, a, uv == FG_UV_PIN ? pin : NULL);
	if (r != FIDO_OK) {
		*fido_err = r;
		ret = FG_ERR_DENIED;
		goto out;
	}
	if (fido_assert_count(a) != 1)
		goto out;
	/* libfido2 hands out authData as a CBOR byte string */
	p = fido_assert_authdata_ptr(a, 0);
	id = fido_assert_id_ptr(a, 0);
	sig = fido_assert_sig_ptr(a, 0);
	out->id_len = fido_assert_id_len(a, 0);
	out->sig_len = fido_assert_sig_len(a, 0);
	if (p == NULL || id == NULL || sig == NULL || out->id_len == 0 ||
	    out->sig_len == 0)
		goto out;
	item = fg_cbor_load(p, fido_assert_authdata_len(a, 0), &lr);
	if (item == NULL || !cbor_isa_bytestring(item) ||
	    !cbor_bytestring_is_definite(item) ||
	    cbor_bytestring_length(item) == 0)
		goto out;
	ret = FG_ERR_NOMEM;
	out->authdata_len = cbor_bytestring_length(item);
	if ((out->authdata = malloc(out->authdata_len)) == NULL ||
	    (out->id = malloc(out->id_len)) == NULL ||
	    (out->sig = malloc(out->sig_len)) == NULL)
		goto out;
	memcpy(out->authdata, cbor_bytestring_handle(item), out->authdata_len);
	memcpy(out->id, id, out->id_len);
	memcpy(out->sig, sig, out->sig_len);
	ret = FG_OK;
out:
	if (ret != FG_OK)
		fg_assert_out_clear(out);
	if (item != NULL)
		cbor_decref(&item);
	fido_assert_free(&a);
	return ret;
}

void
fg_assert_out_clear(struct fg_assert_out *o)
{
	free(o->authdata);
	free(o->id);
	free(o->sig);
	memset(o, 0, sizeof(*o));
}

const char *
fg_fido_msg(int err)
{
	switch (err) {
	case FIDO_ERR_PIN_INVALID:
		return N_("wrong PIN");
	case FIDO_ERR_PIN_BLOCKED:
		return N_("the key's PIN is blocked: ask an administrator to reset the key");
	case FIDO_ERR_PIN_AUTH_BLOCKED:
		return N_("too many wrong PINs: unplug the key and plug it in again");
	case FIDO_ERR_PIN_REQUIRED:
		return N_("this key needs its PIN");
	case FIDO_ERR_PIN_NOT_SET:
		return N_("this key has no PIN: set one with fido2-token -S");
	case FIDO_ERR_PIN_POLICY_VIOLATION:
		return N_("the PIN does not meet the key's rules");
	case FIDO_ERR_ACTION_TIMEOUT:
	case FIDO_ERR_USER_ACTION_TIMEOUT:
	case FIDO_ERR_RX:
		return N_("the key was not touched in time");
	case FIDO_ERR_OPERATION_DENIED:
	case FIDO_ERR_NOT_ALLOWED:
		return N_("the key refused the request");
	case FIDO_ERR_NO_CREDENTIALS:
		return N_("this key is not enrolled");
	case FIDO_ERR_CREDENTIAL_EXCLUDED:
		return N_("this key is already enrolled for the user");
	case FIDO_ERR_UNSUPPORTED_ALGORITHM:
		return N_("the key supports none of the allowed algorithms");
	case FIDO_ERR_KEY_STORE_FULL:
		return N_("the key is full");
	case FIDO_ERR_KEEPALIVE_CANCEL:
		return N_("the request was cancelled");
	default:
		return fido_strerr(err);
	}
}
