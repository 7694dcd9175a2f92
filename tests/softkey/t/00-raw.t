#!/bin/sh
# Protocol misuse below libfido2, under AddressSanitizer and UBSan.
top=$(cd "$(dirname "$0")/../../.." && pwd)
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 exec "$top/build/test/softkey-raw"
