#!/bin/sh
# The verifier's unit tests (cmocka, under ASan and UBSan), as TAP.
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
exec env CMOCKA_MESSAGE_OUTPUT=TAP "${FG_BUILD:-$TOP/build}/test/verify-unit"
