#!/bin/sh
# The verifier's unit tests (cmocka, under ASan and UBSan), as TAP.
exec env CMOCKA_MESSAGE_OUTPUT=TAP "$(dirname "$0")/../../../build/test/verify-unit"
