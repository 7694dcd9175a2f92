/*
 * softkey: a software FIDO2 authenticator for fido2gate's tests.
 *
 * The device side (ctaphid.c, ctap2.c, pin.c, state.c, crypto.c) speaks
 * CTAP2 over CTAPHID reports exactly as a USB key does; preload.c plugs it
 * into libfido2 through fido_dev_io_t / fido_dev_transport_t. Nothing in
 * fido2gate's production code links this.
 */
#ifndef SOFTKEY_H
#define SOFTKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

/* CTAPHID (CTAP 2.1 §11.2) */
#define SK_REPORT_LEN 64
#define SK_INIT_DATA (SK_REPORT_LEN - 7)
#define SK_CONT_DATA (SK_REPORT_LEN - 5)
#define SK_MAX_MSG (SK_INIT_DATA + 128 * SK_CONT_DATA) /* 7609 */
#define SK_CID_BROADCAST 0xffffffffU
#define SK_MAX_CHANNELS 16

#define SK_HID_PING 0x01
#define SK_HID_MSG 0x03
#define SK_HID_LOCK 0x04
#define SK_HID_INIT 0x06
#define SK_HID_WINK 0x08
#define SK_HID_CBOR 0x10
#define SK_HID_CANCEL 0x11
#define SK_HID_KEEPALIVE 0x3b
#define SK_HID_ERROR 0x3f

#define SK_HID_ERR_INVALID_CMD 0x01
#define SK_HID_ERR_INVALID_PAR 0x02
#define SK_HID_ERR_INVALID_LEN 0x03
#define SK_HID_ERR_INVALID_SEQ 0x04
#define SK_HID_ERR_MSG_TIMEOUT 0x05
#define SK_HID_ERR_CHANNEL_BUSY 0x06
#define SK_HID_ERR_INVALID_CHANNEL 0x0b
#define SK_HID_ERR_OTHER 0x7f

#define SK_KEEPALIVE_PROCESSING 0x01
#define SK_KEEPALIVE_UPNEEDED 0x02

#define SK_CAP_WINK 0x01
#define SK_CAP_CBOR 0x04

/* CTAP2 commands and status codes (CTAP 2.1 §6, §8) */
#define SK_CTAP_MAKE_CREDENTIAL 0x01
#define SK_CTAP_GET_ASSERTION 0x02
#define SK_CTAP_GET_INFO 0x04
#define SK_CTAP_CLIENT_PIN 0x06
#define SK_CTAP_RESET 0x07
#define SK_CTAP_GET_NEXT_ASSERTION 0x08
#define SK_CTAP_SELECTION 0x0b

enum sk_status {
	SK_OK = 0x00,
	SK_ERR_INVALID_COMMAND = 0x01,
	SK_ERR_INVALID_PARAMETER = 0x02,
	SK_ERR_INVALID_LENGTH = 0x03,
	SK_ERR_CBOR_UNEXPECTED_TYPE = 0x11,
	SK_ERR_INVALID_CBOR = 0x12,
	SK_ERR_MISSING_PARAMETER = 0x14,
	SK_ERR_CREDENTIAL_EXCLUDED = 0x19,
	SK_ERR_UNSUPPORTED_ALGORITHM = 0x26,
	SK_ERR_KEY_STORE_FULL = 0x28,
	SK_ERR_UNSUPPORTED_OPTION = 0x2b,
	SK_ERR_INVALID_OPTION = 0x2c,
	SK_ERR_KEEPALIVE_CANCEL = 0x2d,
	SK_ERR_NO_CREDENTIALS = 0x2e,
	SK_ERR_USER_ACTION_TIMEOUT = 0x2f,
	SK_ERR_NOT_ALLOWED = 0x30,
	SK_ERR_PIN_INVALID = 0x31,
	SK_ERR_PIN_BLOCKED = 0x32,
	SK_ERR_PIN_AUTH_INVALID = 0x33,
	SK_ERR_PIN_AUTH_BLOCKED = 0x34,
	SK_ERR_PIN_NOT_SET = 0x35,
	SK_ERR_PUAT_REQUIRED = 0x36,
	SK_ERR_PIN_POLICY_VIOLATION = 0x37,
	SK_ERR_REQUEST_TOO_LARGE = 0x39,
	SK_ERR_OTHER = 0x7f,
};

/* COSE algorithm identifiers */
#define SK_COSE_ES256 (-7)
#define SK_COSE_EDDSA (-8)
#define SK_COSE_RS256 (-257)
#define SK_COSE_ECDH_ES_HKDF_256 (-25)

/* pinUvAuthToken permissions */
#define SK_PERM_MC 0x01
#define SK_PERM_GA 0x02

#define SK_MAX_CBOR_MSG 1200
#define SK_MAX_RK 32
#define SK_MAX_ALLOW 16
#define SK_PIN_RETRIES 8
#define SK_PIN_MAX_CONSECUTIVE 3
#define SK_PIN_MIN_LEN 4

/* Persistent state: one file per key, see state.c. */
struct sk_rk {
	uint8_t rp_id_hash[32];
	char *rp_id;
	uint8_t user_id[64];
	size_t user_id_len;
	char *user_name;
	char *user_display_name;
	uint8_t *cred_id;
	size_t cred_id_len;
};

struct sk_counter {
	uint8_t cred_hash[16]; /* LEFT(SHA-256(credential ID), 16) */
	uint32_t count;
};

/* An RSA credential's private key: too big for a credential ID. */
struct sk_rsa {
	uint8_t handle[32];
	uint8_t *der;
	size_t der_len;
};

struct sk_state {
	uint8_t master[32];
	uint8_t aaguid[16];
	bool pin_set;
	uint8_t pin_hash[16]; /* LEFT(SHA-256(PIN), 16) */
	unsigned pin_retries;
	struct sk_counter *counters;
	size_t ncounters;
	struct sk_rk *rks;
	size_t nrks;
	struct sk_rsa *rsas;
	size_t nrsas;
};

/* A credential unwrapped from its ID. */
struct sk_cred {
	int alg;
	uint8_t priv[32]; /* RS256: the handle of its key in the state */
	const struct sk_rsa *rsa;
	uint8_t cred_protect; /* 0 = not set, else 1..3 */
	bool rk;
};

/* A response held back until the simulated touch times out. */
struct sk_held {
	bool active;
	struct sk_queue *q;
	uint32_t cid;
	uint8_t status;
	uint64_t deadline_ms;
	uint64_t next_keepalive_ms;
};

struct sk_queue {
	uint8_t (*reports)[SK_REPORT_LEN];
	size_t len;
	size_t head;
	size_t cap;
};

/* Pending getNextAssertion context (per power cycle). */
struct sk_next {
	bool active;
	uint8_t rp_id_hash[32];
	uint8_t cdh[32];
	uint8_t flags;
	size_t next;
	size_t count;
	uint8_t *ids[SK_MAX_RK];
	size_t id_lens[SK_MAX_RK];
	bool user_details;
	uint64_t expires_ms;
};

/* Volatile device: one per key per process ("power cycle"). */
struct sk_dev {
	char *state_path;
	bool touch;
	unsigned touch_timeout_ms;
	const char *attestation; /* "x5c", "self" or "none" */
	char *initial_pin;	 /* set on a state created by this process */
	bool pin_proto1_only;	 /* advertise PIN/UV auth protocol 1 alone */
	uint64_t powered_ms;
	/* CTAPHID */
	uint32_t cids[SK_MAX_CHANNELS];
	size_t ncids;
	uint32_t busy_cid;
	struct sk_queue *busy_q; /* where the request came from */
	uint8_t busy_cmd;
	size_t msg_len;
	size_t msg_got;
	uint8_t msg_seq;
	uint8_t msg[SK_MAX_MSG];
	uint64_t msg_started_ms;
	struct sk_held held;
	/* PIN/UV auth (per power cycle) */
	void *ka_key; /* EVP_PKEY *, the key agreement key */
	uint8_t pin_token[32];
	bool pin_token_valid;
	uint8_t pin_token_perms;
	char *pin_token_rp;
	unsigned pin_consecutive;
	struct sk_next next;
};

/* util (ctaphid.c) */
uint64_t sk_now_ms(void);
void sk_put_be32(uint8_t *, uint32_t);
uint32_t sk_get_be32(const uint8_t *);
int sk_frame(uint32_t cid, uint8_t cmd, const uint8_t *data, size_t len,
    int (*emit)(void *ctx, const uint8_t *report), void *ctx);
void sk_queue_push(struct sk_queue *, const uint8_t *report);
bool sk_queue_pop(struct sk_queue *, uint8_t *report);
void sk_queue_free(struct sk_queue *);

/* ctaphid.c: raw 64-byte reports in, reports out into dev->outq. */
struct sk_dev *sk_dev_new(const char *state_path, const char *initial_pin,
    bool touch, unsigned touch_timeout_ms, const char *attestation);
void sk_dev_free(struct sk_dev **);
void sk_hid_input(struct sk_dev *, struct sk_queue *, const uint8_t *report);
/* The host waits up to ms (-1: no limit) for input that is not queued yet. */
bool sk_hid_poll(struct sk_dev *, struct sk_queue *, int ms);
/* The link owning q goes away: drop what is held for it. */
void sk_hid_detach(struct sk_dev *, struct sk_queue *);

/* ctap2.c */
/* What the user did during a command, so CTAPHID can pace its reply. */
enum sk_touch { SK_TOUCH_NONE, SK_TOUCH_GIVEN, SK_TOUCH_TIMED_OUT };

uint8_t sk_ctap2_dispatch(struct sk_dev *, const uint8_t *req, size_t req_len,
    uint8_t **resp, size_t *resp_len, enum sk_touch *touch);

/* u2f.c: one CTAP1 request APDU in, response data and status word out */
int sk_u2f_dispatch(struct sk_dev *, const uint8_t *apdu, size_t len,
    uint8_t **resp, size_t *resp_len);

/* pin.c */
uint8_t sk_client_pin(struct sk_dev *, struct sk_state *, const cbor_item_t *,
    cbor_item_t **resp, bool *dirty);
uint8_t sk_pin_check_auth(struct sk_dev *, const struct sk_state *,
    unsigned protocol, const uint8_t *msg, size_t msg_len, const uint8_t *param,
    size_t param_len, uint8_t perm, const char *rp_id);
void sk_pin_forget(struct sk_dev *);

/* state.c */
int sk_state_open(const char *path, const char *initial_pin, struct sk_state *);
void sk_state_close(int lock, struct sk_state *);
int sk_state_save(const char *path, const struct sk_state *);
void sk_state_clear(struct sk_state *);
int sk_state_init(struct sk_state *, const char *pin);
uint32_t *sk_state_counter(
    struct sk_state *, const uint8_t *cred_id, size_t cred_id_len);
void sk_pin_hash(const char *pin, size_t len, uint8_t out[16]);

/* crypto.c */
int sk_random(void *, size_t);
int sk_cred_new(struct sk_state *, struct sk_cred *, int alg,
    uint8_t cred_protect, bool rk);
int sk_cred_wrap(const struct sk_state *, const uint8_t rp_id_hash[32],
    const struct sk_cred *, uint8_t **id, size_t *id_len);
int sk_cred_unwrap(const struct sk_state *, const uint8_t rp_id_hash[32],
    const uint8_t *id, size_t id_len, struct sk_cred *);
int sk_cred_pubkey_raw(const struct sk_cred *, uint8_t pub[65]);
int sk_cred_cose_pubkey(const struct sk_cred *, uint8_t **cose, size_t *len);
int sk_cred_sign(const struct sk_cred *, const uint8_t *msg, size_t msg_len,
    uint8_t **sig, size_t *sig_len);
void sk_sha256(const void *, size_t, uint8_t out[32]);
int sk_attestation_cert(const uint8_t aaguid[16], uint8_t **der, size_t *len);
/* A test's attestation key (PEM, P-256) and certificates (PEM, leaf first)
 * instead of the batch ones; then the x5c they make, one by one. */
int sk_attestation_use(const char *key_path, const char *certs_path);
size_t sk_attestation_chain_len(void);
int sk_attestation_chain_cert(const uint8_t aaguid[16], size_t i,
    uint8_t **der, size_t *len);
int sk_attestation_ca_cert(uint8_t **der, size_t *len);
void sk_attestation_cred(struct sk_cred *);

/* cbor helpers (cbor.c) */
const cbor_item_t *sk_map_get_int(const cbor_item_t *map, int64_t key);
const cbor_item_t *sk_map_get_str(const cbor_item_t *map, const char *key);
bool sk_cbor_int(const cbor_item_t *, int64_t *);
bool sk_cbor_bytes(const cbor_item_t *, const uint8_t **, size_t *);
char *sk_cbor_text(const cbor_item_t *); /* NUL-terminated copy */
bool sk_map_put_int(cbor_item_t *map, int64_t key, cbor_item_t *value);
bool sk_map_put_str(cbor_item_t *map, const char *key, cbor_item_t *value);
cbor_item_t *sk_cbor_new_int(int64_t);
int sk_cbor_encode(const cbor_item_t *, uint8_t **, size_t *);

#endif /* SOFTKEY_H */
