#!/bin/sh
# The agent's request handlers on a real store (cmocka, under ASan and
# UBSan), as TAP: the order of events is the test's, not the scheduler's.
top=$(cd "$(dirname "$0")/../../.." && pwd)
exec env CMOCKA_MESSAGE_OUTPUT=TAP "${FG_BUILD:-$top/build}/test/agent-unit"
