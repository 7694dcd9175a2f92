# A throwaway PostgreSQL for one test: Debian's postgresql-15 binaries,
# a cluster made by initdb in a private folder, listening on a Unix socket
# there and nowhere else (PG_LISTEN: on TCP as well, at those addresses,
# port 5432: in a network namespace of the test's own), stopped and
# removed at exit. initdb refuses
# root: as root, the cluster belongs to nobody. Sourced after tap.sh.
#
#   why=$(pg_missing) && skip_all "$why"
#   pg_start || bail "..."
#   STORE="postgresql:$(pg_conninfo fido2gate)"
#
# A failover: a streaming standby of that cluster, in its own folder
# (PGS), made synchronous, then the primary killed and the standby
# promoted:
#
#   pg_standby_start && pg_sync_standby || bail "..."
#   STORE="postgresql:$(pg_conninfo_failover fido2gate)"
#   pg_kill_primary; pg_promote

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PGT=
PGS=
PG_STANDBY_NAME=fg_standby
PG_LISTEN=${PG_LISTEN:-}
# the primary was killed: its postmaster.pid names no server of ours
PG_KILLED=

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

# pg_up_at DIR: the server of the cluster in DIR/data started, on a
# socket in DIR
pg_up_at() {
	pg_as "$PG_BIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 30 \
		-o "-c listen_addresses='$PG_LISTEN' -c unix_socket_directories='$1' -c fsync=on" \
		start > /dev/null
}

# pg_up / pg_down: the server of the cluster, started or stopped
pg_up() {
	pg_up_at "$PGT"
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
		[ -n "$PG_KILLED" ] || pg_down 2> /dev/null
		rm -rf "$PGT"
		PGT=
	fi
	if [ -n "$PGS" ]; then
		pg_as "$PG_BIN/pg_ctl" -D "$PGS/data" -m immediate -w -t 30 \
			stop > /dev/null 2>&1
		rm -rf "$PGS"
		PGS=
	fi
}

# pg_standby_start: a streaming standby of the cluster, from a base
# backup (pg_basebackup -R: it follows the primary), in a folder of its
# own ($PGS), on a socket there, connected as $PG_STANDBY_NAME, up and
# streaming. It takes no writes (hot standby: reads only).
pg_standby_start() {
	PGS=$(mktemp -d /tmp/fg-pgs.XXXXXX) || return 1
	[ "$(id -u)" != 0 ] || chown nobody: "$PGS" || return 1
	pg_standby_of "$PGT" "$PGS"
}

# pg_standby_of PRIMARY DIR: DIR/data a standby of the server in PRIMARY
pg_standby_of() {
	local i
	if ! pg_as "$PG_BIN/pg_basebackup" -D "$2/data" -R -X stream -c fast \
		-d "host=$1 user=fido2gate application_name=$PG_STANDBY_NAME" \
		> "$2/basebackup.log" 2>&1; then
		sed 's/^/#   /' "$2/basebackup.log"
		return 1
	fi
	pg_up_at "$2" || { sed 's/^/#   /' "$2/server.log"; return 1; }
	for i in $(seq 300); do
		[ "$(pg_sql_on "$1" postgres "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$PG_STANDBY_NAME' AND state = 'streaming'")" = 1 ] &&
			return 0
		sleep 0.1
	done
	echo "#   the standby is not streaming after 30 s"
	sed 's/^/#   /' "$2/server.log"
	return 1
}

# pg_rebuild: after a failover, the killed primary made again, as a
# standby of the promoted one (a new base backup into its folder); then
# the two swap names: PGT is the primary, PGS the standby, and the
# functions here go on as before (a switchover back is pg_promote)
pg_rebuild() {
	local old=$PGT
	rm -rf "$PGT/data" || return 1
	pg_standby_of "$PGS" "$PGT" || return 1
	PG_KILLED=
	PGT=$PGS
	PGS=$old
}

# pg_fence [off]: the primary made to refuse writes (every transaction
# read-only), as a switchover does before the standby is promoted; its
# server and its connections stay up
pg_fence() {
	local v=on
	[ "${1:-}" != off ] || v=off
	pg_sql postgres "ALTER SYSTEM SET default_transaction_read_only = $v" &&
		pg_sql postgres "SELECT pg_reload_conf()" > /dev/null
}

# pg_sync_standby [off]: the standby made synchronous (a commit returns
# once the standby has it on disk), or asynchronous again. Set on the
# primary only, after the base backup: a promoted standby that waited
# for a standby of its own would take no writes.
pg_sync_standby() {
	local names="$PG_STANDBY_NAME" want=sync i
	if [ "${1:-}" = off ]; then
		names='' want=async
	fi
	pg_sql postgres "ALTER SYSTEM SET synchronous_commit = on" &&
		pg_sql postgres "ALTER SYSTEM SET synchronous_standby_names = '$names'" &&
		pg_sql postgres "SELECT pg_reload_conf()" > /dev/null || return 1
	for i in $(seq 300); do
		[ "$(pg_sql postgres "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$PG_STANDBY_NAME'")" = "$want" ] &&
			return 0
		sleep 0.1
	done
	echo "#   the standby is not $want after 30 s"
	return 1
}

# pg_kill_primary: the primary's postmaster and every process it started
# killed with SIGKILL at once, as a host that dies: no shutdown, nothing
# more sent to anyone. Its socket stays, with nobody listening.
pg_kill_primary() {
	local pm kids
	pm=$(head -n 1 "$PGT/data/postmaster.pid" 2> /dev/null)
	[ -n "$pm" ] && kill -0 "$pm" 2> /dev/null || return 1
	kids=$(ps -o pid= --ppid "$pm")
	# shellcheck disable=SC2086 # one pid a word
	kill -KILL "$pm" $kids || return 1
	PG_KILLED=1
	# gone, or a zombie that whoever adopted it has not reaped yet
	for _ in $(seq 100); do
		case $(ps -o stat= -p "$pm") in
		'' | Z*) break ;;
		esac
		sleep 0.05
	done
	# its pid may be reused: nobody must ever stop "it" again, nor a
	# new server in that folder take it for a live one
	rm -f "$PGT/data/postmaster.pid" "$PGT"/.s.PGSQL.*.lock
}

# pg_promote: the standby made the primary (pg_ctl promote waits until
# it takes writes)
pg_promote() {
	pg_as "$PG_BIN/pg_ctl" -D "$PGS/data" -w -t 60 promote > /dev/null
}

# pg_conninfo_failover DB: database DB on the primary or, once it is
# promoted, the standby: libpq tries the hosts in turn and keeps the
# first that takes writes
pg_conninfo_failover() {
	echo "host=$PGT,$PGS user=fido2gate dbname=$1 target_session_attrs=read-write"
}

# pg_conninfo DB: the connection string of database DB
pg_conninfo() {
	echo "host=$PGT user=fido2gate dbname=$1"
}

# pg_sql DB SQL: SQL run in DB, the rows unaligned
pg_sql() {
	pg_sql_on "$PGT" "$@"
}

# pg_sql_on DIR DB SQL: the same on the server whose socket is in DIR
pg_sql_on() {
	"$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$1" -U fido2gate \
		-d "$2" -c "$3"
}

pg_createdb() {
	pg_sql postgres "CREATE DATABASE \"$1\""
}
