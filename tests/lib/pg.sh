# A throwaway PostgreSQL for one test: Debian's postgresql-15 binaries,
# a cluster made by initdb in a private folder, listening on a Unix socket
# there and nowhere else, stopped and removed at exit. initdb refuses
# root: as root, the cluster belongs to nobody. Sourced after tap.sh.
#
#   why=$(pg_missing) && skip_all "$why"
#   pg_start || bail "..."
#   STORE="postgresql:$(pg_conninfo fido2gate)"

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PGT=

# pg_missing: why there can be no cluster (and status 0), or status 1
pg_missing() {
	for b in initdb pg_ctl postgres psql; do
		if [ ! -x "$PG_BIN/$b" ]; then
			echo "no PostgreSQL 15 ($PG_BIN/$b is missing: apt-get install postgresql-15)"
			return 0
		fi
	done
	return 1
}

pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

# pg_up / pg_down: the server of the cluster, started or stopped
pg_up() {
	pg_as "$PG_BIN/pg_ctl" -D "$PGT/data" -l "$PGT/server.log" -w -t 30 \
		-o "-c listen_addresses='' -c unix_socket_directories='$PGT' -c fsync=on" \
		start > /dev/null
}

pg_down() {
	pg_as "$PG_BIN/pg_ctl" -D "$PGT/data" -m fast -w -t 30 stop > /dev/null
}

# pg_start: a new cluster with a superuser fido2gate (trust, on the
# socket only), up
pg_start() {
	PGT=$(mktemp -d /tmp/fg-pg.XXXXXX) || return 1
	[ "$(id -u)" != 0 ] || chown nobody: "$PGT" || return 1
	if ! pg_as "$PG_BIN/initdb" -D "$PGT/data" -U fido2gate -A trust \
		-E UTF8 --no-locale > "$PGT/initdb.log" 2>&1; then
		sed 's/^/#   /' "$PGT/initdb.log"
		return 1
	fi
	pg_up || { sed 's/^/#   /' "$PGT/server.log"; return 1; }
}

pg_cleanup() {
	if [ -n "$PGT" ]; then
		pg_down 2> /dev/null
		rm -rf "$PGT"
		PGT=
	fi
}

# pg_conninfo DB: the connection string of database DB
pg_conninfo() {
	echo "host=$PGT user=fido2gate dbname=$1"
}

# pg_sql DB SQL: SQL run in DB, the rows unaligned
pg_sql() {
	"$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PGT" -U fido2gate \
		-d "$1" -c "$2"
}

pg_createdb() {
	pg_sql postgres "CREATE DATABASE \"$1\""
}
