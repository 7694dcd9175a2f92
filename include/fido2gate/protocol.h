/*
 * The protocol between fido2gated and its clients (the PAM module, the
 * CLI, the web front, the homeserver module): the one place where its
 * names, codes and limits are spelt. docs/architecture.md describes each
 * request and reply; this header is the reference the code compiles
 * against.
 *
 * Transport: a SOCK_SEQPACKET Unix socket. Each record is one JSON object
 * of at most FG_MSG_MAX bytes carrying "v": FG_PROTO_VERSION and "op"; the
 * reply carries "v" and "ok". A refusal is {"ok": false, "error": CODE,
 * "message": TEXT} with CODE one of FG_E_* below, and for FG_E_RATE_LIMITED
 * "retry_after" in seconds. The agent identifies each caller by its
 * SO_PEERCRED credentials, never by anything in the request.
 */
#ifndef FIDO2GATE_PROTOCOL_H
#define FIDO2GATE_PROTOCOL_H

#define FG_PROTO_VERSION 1
#define FG_MSG_MAX 65536 /* bytes per record, either way */

#define FG_SOCKET_DEFAULT "/run/fido2gate/agent.sock"
#define FG_SOCKET_PATH_MAX 108 /* sizeof(sun_path), with its NUL */

/* Requests. */
#define FG_OP_AUTH_BEGIN "auth.begin"	/* a login challenge for a user */
#define FG_OP_AUTH_FINISH "auth.finish" /* the assertion: allow or deny */
#define FG_OP_AUTH_ABORT "auth.abort"	/* the client gave up; says why */
#define FG_OP_ENROLL_BEGIN "enroll.begin"   /* admin */
#define FG_OP_ENROLL_FINISH "enroll.finish" /* admin */
#define FG_OP_CRED_LIST "cred.list"	/* admin, or a user's own */
#define FG_OP_CRED_REVOKE "cred.revoke" /* admin */
#define FG_OP_CRED_IMPORT "cred.import" /* admin: pam-u2f's credentials */
#define FG_OP_USER_UNLOCK "user.unlock" /* admin */
#define FG_OP_USER_LOCK "user.lock"	/* admin: an incident's lock */
#define FG_OP_AUDIT_LIST "audit.list"	/* admin; user, since, limit */
#define FG_OP_AUDIT_VERIFY "audit.verify" /* admin: the hash chain, anchors */
/* The admin's own key (see docs/admin-guide.md): admin.begin gives the
 * challenge for one action on one target; the request that acts carries
 * the answer as "stepup": {session, credential_id, authenticator_data,
 * client_data_json, signature}. */
#define FG_OP_ADMIN_BEGIN "admin.begin"	    /* admin: a step-up challenge */
#define FG_OP_ADMIN_LIST "admin.list"	    /* admin: admins, requests */
#define FG_OP_ADMIN_ADD "admin.add"	    /* admin + step-up */
#define FG_OP_ADMIN_REMOVE "admin.remove"   /* admin + step-up */
#define FG_OP_REQUEST_APPROVE "request.approve" /* a second admin + step-up */
#define FG_OP_CRED_SET "cred.set"	    /* admin + step-up: rename,
					       disable, enable */
#define FG_OP_USER_SHOW "user.show"	    /* admin, or a user's own */
#define FG_OP_STATUS "status"		/* anyone; counters for admins */
/* Remote enrolment by invitation (docs/admin-guide.md): an admin's link,
 * opened in a browser through the web front, which relays the rest. */
#define FG_OP_INVITE_CREATE "invite.create" /* admin + step-up: a link */
#define FG_OP_INVITE_OPEN "invite.open"	    /* web: the link's page */
#define FG_OP_INVITE_BEGIN "invite.begin"   /* web: first factor, options */
#define FG_OP_INVITE_FINISH "invite.finish" /* web: the new key, pending */

/*
 * The homeserver gate. The web front (its own uid, [web] user) relays the
 * browser's requests; the agent decides every one. See docs/oidc.md.
 */
#define FG_OP_OIDC_DISCOVERY "oidc.discovery" /* anyone: the document */
#define FG_OP_OIDC_JWKS "oidc.jwks"	      /* anyone: public keys */
#define FG_OP_OIDC_AUTHORIZE "oidc.authorize" /* web: a login transaction */
#define FG_OP_WEB_BEGIN "web.begin"	      /* web: the user's challenge */
#define FG_OP_WEB_FINISH "web.finish"	      /* web: assertion -> code */
#define FG_OP_WEB_ABORT "web.abort"	      /* web: the browser gave up */
#define FG_OP_OIDC_TOKEN "oidc.token"	      /* web: code -> tokens */
#define FG_OP_OIDC_USERINFO "oidc.userinfo"   /* web: access token -> claims */
#define FG_OP_OIDC_ROTATE "oidc.rotate"	      /* admin: new signing keys */
#define FG_OP_LOGIN_CHECK "login.check"	      /* homeserver: allow a login? */
/* with the organisation's identity provider as the first factor */
#define FG_OP_UPSTREAM_CONFIG "upstream.config"   /* web: the provider's */
#define FG_OP_UPSTREAM_SESSION "upstream.session" /* web: nonce, verifier */
#define FG_OP_WEB_UPSTREAM "web.upstream"	  /* web: who it says */

/* Refusal codes ("error"). */
#define FG_E_VERSION "version"		/* "v" missing or not ours */
#define FG_E_BAD_JSON "bad_json"	/* not one JSON object */
#define FG_E_TOO_LARGE "too_large"	/* over the agent's max_message */
#define FG_E_BAD_REQUEST "bad_request"	/* a member missing or malformed */
#define FG_E_UNKNOWN_OP "unknown_op"
#define FG_E_DENIED "denied"		/* this caller may not ask this */
#define FG_E_RATE_LIMITED "rate_limited" /* wait "retry_after" seconds */
#define FG_E_LOCKED "locked"		/* until an admin unlocks the user */
#define FG_E_LIMIT "limit"		/* a cap of the agent's is reached */
#define FG_E_NO_SESSION "no_session"	/* unknown, expired, used, not yours */
#define FG_E_NOT_FOUND "not_found"
#define FG_E_AMBIGUOUS "ambiguous"
#define FG_E_REFUSED "refused"		/* an enrolment the policy refuses */
#define FG_E_STEPUP "stepup"		/* needs (or failed) the admin's key */
#define FG_E_STORE "store"		/* the store failed: fail closed */
#define FG_E_INTERNAL "internal"
#define FG_E_OAUTH "oauth"		/* refused with "oauth_error" (RFC 6749
					 * §4.1.2.1, §5.2), and "redirect" when
					 * the client may be told */

/* auth.finish's "result". Anything but FG_RESULT_ALLOW is a refusal. */
#define FG_RESULT_ALLOW "allow"
#define FG_RESULT_DENY "deny"

/* auth.begin's and enroll.begin's "uv": the user verification policy. */
enum fg_uv_policy {
	FG_UV_DISCOURAGED = 0,
	FG_UV_PREFERRED = 1,
	FG_UV_REQUIRED = 2,
};
#define FG_UV_NAME_DISCOURAGED "discouraged"
#define FG_UV_NAME_PREFERRED "preferred"
#define FG_UV_NAME_REQUIRED "required"

/* Sizes of what the agent issues, in bytes before base64url. */
#define FG_SESSION_LEN 16
#define FG_CHALLENGE_LEN 32
#define FG_USER_HANDLE_LEN 32
#define FG_USER_NAME_MAX 256	/* a POSIX user name, no '-' or '+' first */
#define FG_RP_ID_MAX 253	/* a DNS name */
#define FG_ORIGIN_MAX 512
#define FG_CRED_ID_MAX 1023	/* credential IDs, decoded */
#define FG_ALLOW_MAX 64		/* credential IDs in one allow list */
#define FG_TEXT_MAX 128		/* free text a client hands the agent */
#define FG_PARAM_MAX 2048	/* one OpenID Connect request parameter */
#define FG_TX_LEN 16		/* a login transaction's ID */
#define FG_NET_MAX 52		/* a client's network, as the front names it */
#define FG_IMPORT_MAX 64	/* credentials in one cred.import */
#define FG_RP_GROUPS_MAX 4	/* auth.begin's rp_groups */
#define FG_INVITE_TOKEN_LEN 32	/* an invitation link's token: 256 bits */

#endif
