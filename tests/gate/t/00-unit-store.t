#!/bin/sh
# The store's unit tests (cmocka, under ASan and UBSan), as TAP, on both
# backends: a real SQLite file in a temporary folder, then a real
# PostgreSQL (a throwaway cluster, a new database per test); statements
# outside the statement cache are finalized, and each change is all or
# nothing with its audit record.
. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/lib/pg.sh"
trap 'pg_cleanup; rm -rf "$T"' EXIT

UNIT="$BUILD/test/store-unit"
export CMOCKA_MESSAGE_OUTPUT=TAP
"$UNIT" > "$T/sqlite.tap" 2>&1
lite=$?
if why=$(pg_missing); then
	echo "# SKIP PostgreSQL: $why"
	cat "$T/sqlite.tap"
	exit $lite
fi
if ! pg_start; then
	echo "not ok - a PostgreSQL cluster for the tests"
	exit 1
fi
"$UNIT" "$(pg_conninfo postgres)" > "$T/pg.tap" 2>&1
pg=$?
# one plan for both runs: the second's lines renumbered after the first's
awk '
	FNR == 1 { file++ }
	/^1\.\.[0-9]+/ { total += substr($0, 4); next }
	/^(not )?ok [0-9]+/ {
		n++
		# cmocka says "not ok N # SKIP": a skip, which prove counts
		# as a failure
		if ($0 ~ /^not ok [0-9]+ # SKIP/) sub(/^not /, "")
		sub(/ok [0-9]+/, "ok " n)
		if (file == 2) sub(/ - /, " - postgresql: ")
		print; next
	}
	{ print }
	END { print "1.." n }
' "$T/sqlite.tap" "$T/pg.tap"
[ $lite = 0 ] && [ $pg = 0 ]
