#!/bin/sh
# Protocol misuse below libfido2, under AddressSanitizer and UBSan.
top=$(cd "$(dirname "$0")/../../.." && pwd)
# FG_BUILD: another build tree, as in tests/lib/tap.sh
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 exec "${FG_BUILD:-$top/build}/test/softkey-raw"
