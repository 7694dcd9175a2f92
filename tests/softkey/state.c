/*
 * The soft key's persistent state: master secret, PIN hash and retries,
 * sign counters and discoverable credentials, kept as one CBOR file.
 * Processes are serialised by flock() on a lock file beside it, and every
 * update is written to a temporary file, synced and renamed into place, so
 * a reader sees the old state or the new one, never half of each.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "softkey.h"

#define STATE_VERSION 1
#define STATE_MAX_SIZE (1024 * 1024)

/* "f2g-softkey-v1" + 2: fixed per model, as on real keys */
static const uint8_t softkey_aaguid[16] = {0x66, 0x32, 0x67, 0x2d, 0x73, 0x6f,
    0x66, 0x74, 0x6b, 0x65, 0x79, 0x2d, 0x76, 0x31, 0x00, 0x02};

static char *
path_with(const char *path, const char *suffix)
{
	size_t len = strlen(path) + strlen(suffix) + 1;
	char *p;

	if ((p = malloc(len)) != NULL)
		snprintf(p, len, "%s%s", path, suffix);
	return p;
}

static int
state_lock(const char *path)
{
	char *lock;
	int fd;

	if ((lock = path_with(path, ".lock")) == NULL)
		return -1;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(lock);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

void
sk_pin_hash(const char *pin, size_t len, uint8_t out[16])
{
	uint8_t h[32];

	sk_sha256(pin, len, h);
	memcpy(out, h, 16);
	OPENSSL_cleanse(h, sizeof(h));
}

void
sk_state_clear(struct sk_state *st)
{
	for (size_t i = 0; i < st->nrks; i++) {
		free(st->rks[i].rp_id);
		free(st->rks[i].user_name);
		free(st->rks[i].user_display_name);
		free(st->rks[i].cred_id);
	}
	free(st->rks);
	for (size_t i = 0; i < st->nrsas; i++)
		OPENSSL_clear_free(st->rsas[i].der, st->rsas[i].der_len);
	free(st->rsas);
	free(st->counters);
	OPENSSL_cleanse(st, sizeof(*st));
}

int
sk_state_init(struct sk_state *st, const char *pin)
{
	memset(st, 0, sizeof(*st));
	if (sk_random(st->master, sizeof(st->master)) != 0)
		return -1;
	memcpy(st->aaguid, softkey_aaguid, sizeof(st->aaguid));
	st->pin_retries = SK_PIN_RETRIES;
	if (pin != NULL && *pin != '\0') {
		if (strlen(pin) < SK_PIN_MIN_LEN || strlen(pin) > 63)
			return -1;
		sk_pin_hash(pin, strlen(pin), st->pin_hash);
		st->pin_set = true;
	}
	return 0;
}

uint32_t *
sk_state_counter(
    struct sk_state *st, const uint8_t *cred_id, size_t cred_id_len)
{
	uint8_t h[32];
	struct sk_counter *c;

	sk_sha256(cred_id, cred_id_len, h);
	for (size_t i = 0; i < st->ncounters; i++)
		if (memcmp(st->counters[i].cred_hash, h, 16) == 0)
			return &st->counters[i].count;
	c = reallocarray(st->counters, st->ncounters + 1, sizeof(*c));
	if (c == NULL)
		return NULL;
	st->counters = c;
	c = &st->counters[st->ncounters++];
	memcpy(c->cred_hash, h, 16);
	c->count = 0;
	return &c->count;
}

static bool
get_fixed(const cbor_item_t *map, const char *key, uint8_t *out, size_t len)
{
	const uint8_t *p;
	size_t n;

	if (!sk_cbor_bytes(sk_map_get_str(map, key), &p, &n) || n != len)
		return false;
	memcpy(out, p, len);
	return true;
}

static int
parse_rk(const cbor_item_t *m, struct sk_rk *rk)
{
	const uint8_t *p;
	size_t n;
	const cbor_item_t *v;

	memset(rk, 0, sizeof(*rk));
	if ((rk->rp_id = sk_cbor_text(sk_map_get_str(m, "rp"))) == NULL ||
	    !sk_cbor_bytes(sk_map_get_str(m, "uid"), &p, &n) ||
	    n > sizeof(rk->user_id))
		return -1;
	memcpy(rk->user_id, p, n);
	rk->user_id_len = n;
	sk_sha256(rk->rp_id, strlen(rk->rp_id), rk->rp_id_hash);
	if ((v = sk_map_get_str(m, "name")) != NULL &&
	    (rk->user_name = sk_cbor_text(v)) == NULL)
		return -1;
	if ((v = sk_map_get_str(m, "display")) != NULL &&
	    (rk->user_display_name = sk_cbor_text(v)) == NULL)
		return -1;
	if (!sk_cbor_bytes(sk_map_get_str(m, "cred"), &p, &n) || n == 0 ||
	    (rk->cred_id = malloc(n)) == NULL)
		return -1;
	memcpy(rk->cred_id, p, n);
	rk->cred_id_len = n;
	return 0;
}

/* [[handle, DER private key], ...]; absent in states without RS256 */
static int
parse_rsas(const cbor_item_t *arr, struct sk_state *st)
{
	if (arr == NULL)
		return 0;
	if (!cbor_isa_array(arr))
		return -1;
	if (cbor_array_size(arr) > 0 &&
	    (st->rsas = calloc(cbor_array_size(arr), sizeof(*st->rsas))) ==
		NULL)
		return -1;
	for (size_t i = 0; i < cbor_array_size(arr); i++) {
		cbor_item_t *e = cbor_array_handle(arr)[i];
		const uint8_t *h, *der;
		size_t hl, dl;
		struct sk_rsa *r = &st->rsas[i];

		if (!cbor_isa_array(e) || cbor_array_size(e) != 2 ||
		    !sk_cbor_bytes(cbor_array_handle(e)[0], &h, &hl) ||
		    hl != sizeof(r->handle) ||
		    !sk_cbor_bytes(cbor_array_handle(e)[1], &der, &dl) ||
		    dl == 0 || (r->der = malloc(dl)) == NULL)
			return -1;
		memcpy(r->handle, h, hl);
		memcpy(r->der, der, dl);
		r->der_len = dl;
		st->nrsas++;
	}
	return 0;
}

static int
parse_state(const cbor_item_t *root, struct sk_state *st)
{
	const cbor_item_t *v, *arr;
	int64_t i64;

	if (!cbor_isa_map(root) ||
	    !sk_cbor_int(sk_map_get_str(root, "v"), &i64) ||
	    i64 != STATE_VERSION ||
	    !get_fixed(root, "master", st->master, sizeof(st->master)) ||
	    !get_fixed(root, "aaguid", st->aaguid, sizeof(st->aaguid)) ||
	    !sk_cbor_int(sk_map_get_str(root, "retries"), &i64) || i64 < 0 ||
	    i64 > SK_PIN_RETRIES)
		return -1;
	st->pin_retries = (unsigned)i64;
	if ((v = sk_map_get_str(root, "pin")) != NULL) {
		if (!get_fixed(root, "pin", st->pin_hash, sizeof(st->pin_hash)))
			return -1;
		st->pin_set = true;
	}
	arr = sk_map_get_str(root, "counters");
	if (arr == NULL || !cbor_isa_array(arr))
		return -1;
	st->ncounters = cbor_array_size(arr);
	if (st->ncounters > 0 &&
	    (st->counters = calloc(st->ncounters, sizeof(*st->counters))) ==
		NULL)
		return -1;
	for (size_t i = 0; i < st->ncounters; i++) {
		cbor_item_t *e = cbor_array_handle(arr)[i];
		const uint8_t *p;
		size_t n;

		if (!cbor_isa_array(e) || cbor_array_size(e) != 2 ||
		    !sk_cbor_bytes(cbor_array_handle(e)[0], &p, &n) ||
		    n != 16 || !sk_cbor_int(cbor_array_handle(e)[1], &i64) ||
		    i64 < 0 || i64 > UINT32_MAX)
			return -1;
		memcpy(st->counters[i].cred_hash, p, 16);
		st->counters[i].count = (uint32_t)i64;
	}
	if (parse_rsas(sk_map_get_str(root, "rsa"), st) != 0)
		return -1;
	arr = sk_map_get_str(root, "rks");
	if (arr == NULL || !cbor_isa_array(arr) ||
	    cbor_array_size(arr) > SK_MAX_RK)
		return -1;
	if (cbor_array_size(arr) > 0 &&
	    (st->rks = calloc(cbor_array_size(arr), sizeof(*st->rks))) == NULL)
		return -1;
	for (size_t i = 0; i < cbor_array_size(arr); i++) {
		st->nrks++;
		if (parse_rk(cbor_array_handle(arr)[i], &st->rks[i]) != 0)
			return -1;
	}
	return 0;
}

/* Returns 0 when loaded, 1 when there is no state yet, -1 on error. */
static int
state_load(const char *path, struct sk_state *st)
{
	struct stat sb;
	struct cbor_load_result res;
	cbor_item_t *root = NULL;
	uint8_t *buf = NULL;
	ssize_t n;
	size_t got = 0;
	int fd, ret = -1;

	memset(st, 0, sizeof(*st));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 1 : -1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    sb.st_size > STATE_MAX_SIZE ||
	    (buf = malloc((size_t)sb.st_size)) == NULL)
		goto out;
	while (got < (size_t)sb.st_size) {
		n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	root = cbor_load(buf, got, &res);
	if (root == NULL || res.error.code != CBOR_ERR_NONE || res.read != got)
		goto out;
	if (parse_state(root, st) != 0) {
		sk_state_clear(st);
		goto out;
	}
	ret = 0;
out:
	if (root != NULL)
		cbor_decref(&root);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, got);
		free(buf);
	}
	close(fd);
	return ret;
}

/* Appends [a, b] to arr, taking over the references to a and b. */
static bool
push_pair(cbor_item_t *arr, cbor_item_t *a, cbor_item_t *b)
{
	cbor_item_t *e = cbor_new_definite_array(2);
	bool ok = e != NULL && a != NULL && b != NULL &&
	    cbor_array_push(e, a) && cbor_array_push(e, b) &&
	    cbor_array_push(arr, e);

	if (a != NULL)
		cbor_decref(&a);
	if (b != NULL)
		cbor_decref(&b);
	if (e != NULL)
		cbor_decref(&e);
	return ok;
}

static cbor_item_t *
encode_state(const struct sk_state *st)
{
	cbor_item_t *root, *counters = NULL, *rks = NULL, *rsas = NULL;

	if ((root = cbor_new_definite_map(8)) == NULL ||
	    (counters = cbor_new_definite_array(st->ncounters)) == NULL ||
	    (rks = cbor_new_definite_array(st->nrks)) == NULL ||
	    (rsas = cbor_new_definite_array(st->nrsas)) == NULL)
		goto fail;
	for (size_t i = 0; i < st->nrsas; i++)
		if (!push_pair(rsas,
			cbor_build_bytestring(
			    st->rsas[i].handle, sizeof(st->rsas[i].handle)),
			cbor_build_bytestring(
			    st->rsas[i].der, st->rsas[i].der_len)))
			goto fail;
	for (size_t i = 0; i < st->ncounters; i++)
		if (!push_pair(counters,
			cbor_build_bytestring(st->counters[i].cred_hash, 16),
			sk_cbor_new_int(st->counters[i].count)))
			goto fail;
	for (size_t i = 0; i < st->nrks; i++) {
		const struct sk_rk *rk = &st->rks[i];
		cbor_item_t *m = cbor_new_definite_map(5);
		bool ok = m != NULL &&
		    sk_map_put_str(m, "rp", cbor_build_string(rk->rp_id)) &&
		    sk_map_put_str(m, "uid",
			cbor_build_bytestring(rk->user_id, rk->user_id_len)) &&
		    sk_map_put_str(m, "cred",
			cbor_build_bytestring(rk->cred_id, rk->cred_id_len)) &&
		    (rk->user_name == NULL ||
			sk_map_put_str(
			    m, "name", cbor_build_string(rk->user_name))) &&
		    (rk->user_display_name == NULL ||
			sk_map_put_str(m, "display",
			    cbor_build_string(rk->user_display_name))) &&
		    cbor_array_push(rks, m);

		if (m != NULL)
			cbor_decref(&m);
		if (!ok)
			goto fail;
	}
	if (!sk_map_put_str(root, "v", sk_cbor_new_int(STATE_VERSION)) ||
	    !sk_map_put_str(root, "master",
		cbor_build_bytestring(st->master, sizeof(st->master))) ||
	    !sk_map_put_str(root, "aaguid",
		cbor_build_bytestring(st->aaguid, sizeof(st->aaguid))) ||
	    !sk_map_put_str(
		root, "retries", sk_cbor_new_int(st->pin_retries)) ||
	    (st->pin_set &&
		!sk_map_put_str(root, "pin",
		    cbor_build_bytestring(
			st->pin_hash, sizeof(st->pin_hash)))) ||
	    !sk_map_put_str(root, "counters", cbor_incref(counters)) ||
	    !sk_map_put_str(root, "rks", cbor_incref(rks)) ||
	    !sk_map_put_str(root, "rsa", cbor_incref(rsas)))
		goto fail;
	cbor_decref(&counters);
	cbor_decref(&rks);
	cbor_decref(&rsas);
	return root;
fail:
	if (counters != NULL)
		cbor_decref(&counters);
	if (rks != NULL)
		cbor_decref(&rks);
	if (rsas != NULL)
		cbor_decref(&rsas);
	if (root != NULL)
		cbor_decref(&root);
	return NULL;
}

static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
sync_dir(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd;

	if (dir == NULL)
		return;
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Caller holds the lock, so one temporary name is enough. */
int
sk_state_save(const char *path, const struct sk_state *st)
{
	cbor_item_t *root;
	uint8_t *buf = NULL;
	size_t len = 0;
	char *tmp = NULL;
	int fd = -1, ret = -1;

	if ((root = encode_state(st)) == NULL ||
	    sk_cbor_encode(root, &buf, &len) != 0 ||
	    (tmp = path_with(path, ".tmp")) == NULL)
		goto out;
	(void)unlink(tmp);
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write_all(fd, buf, len) != 0 || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	sync_dir(path);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret != 0 && tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	if (root != NULL)
		cbor_decref(&root);
	return ret;
}

/*
 * Locks and loads the state, creating it (with initial_pin) on first use.
 * Returns the lock, held until sk_state_close(), or -1.
 */
int
sk_state_open(const char *path, const char *initial_pin, struct sk_state *st)
{
	int lock, r;

	memset(st, 0, sizeof(*st));
	if ((lock = state_lock(path)) < 0)
		return -1;
	if ((r = state_load(path, st)) == 1) /* a new key */
		r = sk_state_init(st, initial_pin) == 0 &&
			sk_state_save(path, st) == 0
		    ? 0
		    : -1;
	if (r != 0) {
		sk_state_clear(st);
		close(lock);
		return -1;
	}
	return lock;
}

void
sk_state_close(int lock, struct sk_state *st)
{
	sk_state_clear(st);
	if (lock >= 0)
		close(lock); /* releases the flock */
}
