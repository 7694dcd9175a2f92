/*
 * softkey-ca: prints the soft key test CA's certificate (PEM), the trust
 * anchor of every soft key's batch attestation certificate.
 */
#include <stdio.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "softkey.h"

int
main(void)
{
	uint8_t *der = NULL;
	size_t len = 0;
	const unsigned char *p;
	X509 *x = NULL;
	int ret = 1;

	if (sk_attestation_ca_cert(&der, &len) != 0) {
		fprintf(stderr, "softkey-ca: cannot make the certificate\n");
		return 1;
	}
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) != NULL &&
	    PEM_write_X509(stdout, x) == 1)
		ret = 0;
	X509_free(x);
	OPENSSL_free(der);
	return ret;
}
