#!/bin/sh
# The store's unit tests (cmocka, under ASan and UBSan), as TAP: a real
# SQLite file in a temporary folder; statements outside the statement cache
# are finalized, and each change is all or nothing with its audit record.
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
exec env CMOCKA_MESSAGE_OUTPUT=TAP "${FG_BUILD:-$TOP/build}/test/store-unit"
