/* The libfido2 side shared by the PAM module and the CLI (device.c). */
#ifndef FG_DEVICE_H
#define FG_DEVICE_H

#include <fido.h>

#include "fg.h"

#define FG_DEVS_MAX 16
struct fg_devs {
	fido_dev_info_t *info;
	size_t n_info;
	fido_dev_t *dev[FG_DEVS_MAX];
	size_t n;
};

struct fg_assert_out {
	uint8_t *authdata, *id, *sig;
	size_t authdata_len, id_len, sig_len;
};

enum fg_uv_mode { FG_UV_NONE, FG_UV_PIN, FG_UV_BUILTIN, FG_UV_IMPOSSIBLE };

int fg_devs_open(struct fg_devs *d, int timeout_ms);
void fg_devs_close(struct fg_devs *d);
/* FG_OK (*which holds a credential), FG_ERR_NOTFOUND (no key holds one) or
 * FG_ERR_UNSUPPORTED (some key could not say without a touch). */
int fg_devs_probe(struct fg_devs *d, const char *rp_id,
    const struct fg_id_list *ids, size_t *which);
int fg_devs_touch_select(struct fg_devs *d, int timeout_ms, size_t *which);
enum fg_uv_mode fg_dev_uv_mode(fido_dev_t *dev, enum fg_uv_policy policy);
/* FG_ERR_DENIED with *fido_err set when the key said no. */
int fg_dev_assert(fido_dev_t *dev, const char *rp_id, const uint8_t cdh[32],
    const struct fg_id_list *ids, enum fg_uv_mode uv, const char *pin,
    struct fg_assert_out *out, int *fido_err);
void fg_assert_out_clear(struct fg_assert_out *o);
const char *fg_fido_msg(int fido_err);

#endif
