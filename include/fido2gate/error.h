/*
 * fido2gate's error codes: what every function of ours returns, in the
 * agent and in each of its clients. FG_OK is success; each failure is a
 * negative number that fg_strerror() turns into words.
 */
#ifndef FIDO2GATE_ERROR_H
#define FIDO2GATE_ERROR_H

enum fg_err {
	FG_OK = 0,
	FG_ERR_INTERNAL = -1,
	FG_ERR_NOMEM = -2,
	FG_ERR_INVALID = -3,   /* malformed input */
	FG_ERR_IO = -4,	       /* a system call failed */
	FG_ERR_PROTO = -5,     /* the peer broke the protocol */
	FG_ERR_NOTFOUND = -6,
	FG_ERR_DENIED = -7,    /* refused: by policy, or by the agent */
	FG_ERR_UNAVAIL = -8,   /* the agent cannot be reached */
	FG_ERR_TIMEOUT = -9,
	FG_ERR_TOOBIG = -10,
	FG_ERR_EXISTS = -11,
	FG_ERR_UNSUPPORTED = -12,
	FG_ERR_STORE = -13,
	FG_ERR_LIMIT = -14,
	FG_ERR_UNTRUSTED = -15, /* a socket someone else could have planted */
};

const char *fg_strerror(int err);

#endif
