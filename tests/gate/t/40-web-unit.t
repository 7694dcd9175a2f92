#!/bin/sh
# The web front's parsers and renderers (cmocka, under ASan and UBSan), as
# TAP: parameters, Accept-Language, Basic and Bearer credentials, the
# page's JSON bodies, the checks of the agent's replies, HTML escaping,
# the pages' French from the catalog.
top=$(cd "$(dirname "$0")/../../.." && pwd)
# the French of the pages: from the build's catalog (po/po.mk)
exec env CMOCKA_MESSAGE_OUTPUT=TAP \
	FG_TEST_LOCALEDIR="${FG_BUILD:-$top/build}/locale" \
	"${FG_BUILD:-$top/build}/test/web-unit"
