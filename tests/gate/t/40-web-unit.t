#!/bin/sh
# The web front's parsers and renderers (cmocka, under ASan and UBSan), as
# TAP: parameters, Accept-Language, Basic and Bearer credentials, the
# page's JSON bodies, the checks of the agent's replies, HTML escaping.
top=$(cd "$(dirname "$0")/../../.." && pwd)
exec env CMOCKA_MESSAGE_OUTPUT=TAP "${FG_BUILD:-$top/build}/test/web-unit"
