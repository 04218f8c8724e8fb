#!/bin/sh
# cli.sh - the porter binary: options, commands, configuration refusal, database creation.
. "$PORTER_TOP/tests/tap.sh"
P=${PORTER_BIN:?}
t=$(mktemp -d "${TMPDIR:-/tmp}/porter-cli.XXXXXX")
trap 'rm -rf "$t"' EXIT
export XDG_CONFIG_HOME="$t/config" XDG_DATA_HOME="$t/data" XDG_STATE_HOME="$t/state" HOME="$t/home"

out=$("$P" --help); rc=$?
is "--help exits 0" "$rc" 0
like "--help lists --config" "$out" '--config DIR'
like "--help lists --db" "$out" '--db FILE'
for c in tui config init doctor; do like "--help lists command $c" "$out" "^  $c "; done
out=$("$P" --version)
like "--version prints a version and the schema" "$out" '^porter [0-9]+\.[0-9]+\.[0-9]+ \(schema [0-9]+\)$'
out=$("$P" frobnicate 2>&1); rc=$?
is "unknown command exits 2" "$rc" 2
like "unknown command is named" "$out" "unknown command 'frobnicate'"
out=$("$P" --bogus 2>&1); rc=$?
is "unknown option exits 2" "$rc" 2

out=$("$P" config); rc=$?
is "config with no files exits 0" "$rc" 0
like "config shows XDG accounts.conf path" "$out" "accounts.conf: $t/config/porter/accounts.conf"
like "config shows XDG database path" "$out" "database: +$t/data/porter/porter.db"
like "config shows XDG log path" "$out" "log: +$t/state/porter/porter.log"
like "default webhook listener" "$out" "webhooks: +127.0.0.1:8787"

mkdir -p "$t/config/porter"
cat >"$t/config/porter/accounts.conf" <<'CONF'
[ha]
adapter = hostaway
client_id = 10450
secret = s3cr3t-value
CONF
chmod 644 "$t/config/porter/accounts.conf"
out=$("$P" init 2>&1); rc=$?
is "group/world-readable accounts.conf refused" "$rc" 1
like "refusal names the file and the fix" "$out" "chmod 600 $t/config/porter/accounts.conf"
ok "refusal happens before the database is created" test ! -e "$t/data/porter/porter.db"
chmod 600 "$t/config/porter/accounts.conf"
out=$("$P" config); rc=$?
is "0600 accounts.conf accepted" "$rc" 0
like "account listed" "$out" '\[ha\] adapter=hostaway'
case $out in *s3cr3t-value*) leaked=1 ;; *) leaked=0 ;; esac
is "secret never printed" "$leaked" 0

printf '[hb]\nadapter = hostaway\npoll_interval = soon\n' >>"$t/config/porter/accounts.conf"
out=$("$P" config 2>&1); rc=$?
is "bad line refused" "$rc" 1
like "bad line reported as file:line" "$out" "accounts.conf:7:"
printf '[ha]\nadapter = hostaway\n' >"$t/config/porter/accounts.conf"

out=$("$P" init); rc=$?
is "init exits 0" "$rc" 0
like "init reports the schema version" "$out" 'schema version [0-9]+'
mode=$(stat -c %a "$t/data/porter/porter.db")
is "database created 0600" "$mode" 600
mode=$(stat -c %a "$t/data/porter")
is "data directory created 0700" "$mode" 700
ok "log file written" test -s "$t/state/porter/porter.log"
out=$("$P" init)
like "init is idempotent" "$out" 'schema version [0-9]+'

out=$("$P" --db "$t/other.db" init)
like "--db overrides the database path" "$out" "^$t/other.db: schema version"
mkdir -p "$t/alt"
printf '[general]\nlog_level = loud\n' >"$t/alt/porter.conf"
out=$("$P" --config "$t/alt" config 2>&1); rc=$?
is "--config reads porter.conf from DIR" "$rc" 1
like "bad porter.conf value named with file:line" "$out" "$t/alt/porter.conf:2:"

# doctor on a first day: no files yet, no database yet (it makes one as porter would)
mkdir -p "$t/first/cfg"
out=$(XDG_DATA_HOME="$t/first/data" "$P" --config "$t/first/cfg" doctor 2>&1); rc=$?
is "doctor before anything else exists passes" "$rc" 0
like "doctor says there is no accounts.conf yet" "$out" '^ok +config .*accounts.conf \(none\)'
like "and creates the database as porter would" "$out" '^ok +database .*first/data/porter/porter.db: schema'
like "and says there is nothing to sync" "$out" '^warn +accounts +none in'

# doctor: every check named; an unreachable PMS and an unsafe accounts.conf fail it
free_port() { # a port nothing listens on now (/proc/net/tcp lists the bound ones)
    p=$1
    while grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null; do
        p=$((p + 1))
    done
    echo "$p"
}
port=$(free_port $((30000 + $$ % 20000)))
lport=$(free_port $((port + 1)))
printf '[ha]\nadapter = hostaway\nbase_url = http://127.0.0.1:%s/v1\nclient_id = 1\nsecret = x\n' \
    "$port" >"$t/config/porter/accounts.conf"
printf '[webhook]\nlisten = 127.0.0.1:%s\n' "$lport" >"$t/config/porter/porter.conf"
out=$("$P" doctor 2>&1); rc=$?
is "doctor fails when a PMS cannot be reached" "$rc" 1
like "doctor: database integrity" "$out" '^ok +database .*integrity ok'
like "doctor: listener can bind" "$out" "^ok +listener +127.0.0.1:$lport can be bound"
like "doctor: the account names the failure" "$out" '^FAIL +account +ha \(hostaway\): .*(refused|connect)'
chmod 644 "$t/config/porter/accounts.conf"
out=$("$P" doctor 2>/dev/null); rc=$?
is "doctor fails on an unsafe accounts.conf" "$rc" 1
like "and says so as a check" "$out" '^FAIL +config .*chmod 600'
chmod 600 "$t/config/porter/accounts.conf"
rm -f "$t/config/porter/porter.conf"
printf '[ha]\nadapter = hostaway\n' >"$t/config/porter/accounts.conf"

# rules: check names each bad line; list shows where a rule comes from; test is a dry run
cat >"$t/config/porter/rules.conf" <<'CONF'
[rule vip]
on = message
words = vip
action = tag vip
[rule oops]
on = message
action = tag bad tag
CONF
out=$("$P" rules check 2>&1); rc=$?
is "rules check exits 1 on a bad rule" "$rc" 1
like "rules check names file and line" "$out" "$t/config/porter/rules.conf:7: tag: only A-Z"
like "rules check counts what loaded" "$out" '3 rule\(s\) loaded \(3 on\), 1 error\(s\)'
out=$("$P" rules list); rc=$?
is "rules list exits 0" "$rc" 0
like "rules list shows the built-in emergency rule" "$out" '^emergency +on +fired 0 .*\(built-in\)'
like "rules list shows where a rule is defined" "$out" "^vip .*\($t/config/porter/rules.conf:2\)"
printf '{"on": "message", "account": "ha", "text": "VIP guest: gas smell"}' >"$t/ev.json"
out=$("$P" rules test "$t/ev.json"); rc=$?
is "rules test exits 0" "$rc" 0
like "rules test: the emergency rule matches, nothing to act on" "$out" '^  emergency \(skipped\): work_order skipped: the event has no thread'
like "rules test: the vip rule would fire" "$out" '^  vip \(skipped\): tag skipped: the event has no thread'
like "rules test says nothing was written" "$out" 'a dry run: nothing was written, nothing was sent'
n=$(sqlite3 "$t/data/porter/porter.db" "SELECT (SELECT count(*) FROM rule_event) + (SELECT count(*) FROM work_order) + (SELECT count(*) FROM outbox)")
is "rules test wrote nothing" "$n" 0
out=$("$P" rules test "$t/nope.json" 2>&1); rc=$?
is "rules test of a missing file exits 1" "$rc" 1
printf '{"on": "messages"}' >"$t/ev.json"
out=$("$P" rules test "$t/ev.json" 2>&1); rc=$?
is "rules test of a bad event exits 1" "$rc" 1
like "and says what an event needs" "$out" 'needs "on": message'
out=$("$P" rules undo 42 2>&1); rc=$?
is "rules undo of no such firing exits 1" "$rc" 1
like "and says so" "$out" 'no automation firing 42'
rm -f "$t/config/porter/rules.conf"

# a database from a newer porter is refused with both versions named
if command -v python3 >/dev/null 2>&1; then
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version=999'); c.commit()" "$t/other.db"
    out=$("$P" --db "$t/other.db" init 2>&1); rc=$?
    is "newer database refused" "$rc" 1
    like "refusal names both versions" "$out" 'version 999.*version [0-9]+'
fi
tap_done
