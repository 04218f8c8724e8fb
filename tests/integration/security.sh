#!/bin/sh
# security.sh - secrets at rest and in output: accounts.conf permissions (checked before any
# secret_cmd runs), secret_cmd failures that never echo the output, no key that switches TLS
# verification off, a base_url's user:password kept out of the log, stderr, status and the
# database, private log and database files. The canary CANARY-7f3a91 must appear nowhere.
# (The webhook side, hostile bodies and the crash path are in test_security.c.)
. "$PORTER_TOP/tests/tap.sh"
P=${PORTER_BIN:?}
t=$(mktemp -d "${TMPDIR:-/tmp}/porter-sec.XXXXXX")
trap 'rm -rf "$t"' EXIT
export XDG_CONFIG_HOME="$t/config" XDG_DATA_HOME="$t/data" XDG_STATE_HOME="$t/state" HOME="$t/home"
C="$t/config/porter"
A="$C/accounts.conf"
mkdir -p "$C"
canary=CANARY-7f3a91
leaks() { # leaks TEXT: how many times the canary is in TEXT
    printf '%s' "$1" | grep -o "$canary" | wc -l | tr -d ' '
}
free_port() { # a port nothing listens on now (/proc/net/tcp lists the bound ones)
    p=$1
    while grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null; do
        p=$((p + 1))
    done
    echo "$p"
}
printf '[webhook]\nlisten = 127.0.0.1:%s\n' "$(free_port $((40000 + $$ % 20000)))" >"$C/porter.conf"

# --- accounts.conf must be private; refused before any secret_cmd runs ---
printf '[ha]\nadapter = hostaway\nclient_id = 1\nsecret_cmd = touch %s/ran; echo %s-cmd\n' \
    "$t" "$canary" >"$A"
for mode in 644 640 604 620 602 660; do
    chmod "$mode" "$A"
    out=$("$P" config 2>&1); rc=$?
    is "accounts.conf mode $mode refused" "$rc" 1
    like "mode $mode: the refusal names the fix" "$out" "chmod 600 $A"
done
ok "no secret_cmd ran for a refused file" test ! -e "$t/ran"
chmod 644 "$A"
out=$("$P" doctor 2>&1); rc=$?
is "doctor fails on a readable accounts.conf" "$rc" 1
ok "still no secret_cmd ran" test ! -e "$t/ran"
# a private symlink to a readable file: the file itself is checked
mv "$A" "$C/real.conf"
ln -s "$C/real.conf" "$A"
out=$("$P" config 2>&1); rc=$?
is "symlink to a mode 644 file refused" "$rc" 1
ok "and no secret_cmd ran" test ! -e "$t/ran"
rm -f "$A"
mv "$C/real.conf" "$A"
chmod 400 "$A"
out=$("$P" config 2>&1); rc=$?
is "mode 400 accepted" "$rc" 0
ok "secret_cmd runs once the file is private" test -e "$t/ran"
is "config does not show the secret_cmd output" "$(leaks "$out")" 0
chmod 600 "$A"

# --- secret_cmd failures name the line, never the output ---
n=0
for cmd in "echo $canary-a; exit 1" "echo $canary-b; kill -9 \$\$" "printf '\\n$canary-c\\n'" \
    "printf '$canary-d\\000x\\n'"; do
    n=$((n + 1))
    printf '[ha]\nadapter = hostaway\nclient_id = 1\nsecret_cmd = %s\n' "$cmd" >"$A"
    "$P" config >"$t/o" 2>&1; rc=$?
    out=$(tr -d '\000' <"$t/o")
    is "failing secret_cmd #$n stops porter" "$rc" 1
    like "failing secret_cmd #$n reported by file:line" "$out" "accounts.conf:4: secret_cmd for account \[ha\] failed"
    is "failing secret_cmd #$n: output not shown" "$(leaks "$out")" 0
done

# --- no configuration key turns TLS verification off ---
for kv in "insecure = true" "tls_verify = no" "ssl_verify = 0" "verify = false" "ca_file = /tmp/x.pem" \
    "cainfo = /tmp/x.pem"; do
    printf '[ha]\nadapter = hostaway\nbase_url = https://127.0.0.1:1/v1\n%s\n' "$kv" >"$A"
    out=$("$P" config 2>&1); rc=$?
    is "accounts.conf '$kv' refused" "$rc" 1
    like "'$kv' is an unknown key" "$out" "unknown key"
done
for sec in general webhook; do
    printf '[%s]\ninsecure = 1\n' "$sec" >"$t/p.conf"
    mkdir -p "$t/pc-$sec"
    cp "$t/p.conf" "$t/pc-$sec/porter.conf"
    out=$("$P" --config "$t/pc-$sec" config 2>&1); rc=$?
    is "porter.conf [$sec] insecure refused" "$rc" 1
done
ok "verification is never switched off in http.c" sh -c "! grep -E -q 'VERIFY(PEER|HOST), *0' '$PORTER_TOP/src/http.c'"

# --- a base_url with user:password: masked in the log, stderr, doctor, status, database ---
port=$(free_port $((30000 + $$ % 9000)))
printf '[bd]\nadapter = buildium\nbase_url = http://bd:%s-url@127.0.0.1:%s/v1\nclient_id = x\nsecret = %s-s\n' \
    "$canary" "$port" "$canary" >"$A"
printf '[general]\nlog_level = debug\n[webhook]\nlisten = 127.0.0.1:%s\n' "$(free_port $((port + 1)))" \
    >"$C/porter.conf"
out=$("$P" sync --once 2>&1); rc=$?
is "sync --once against a closed port fails" "$rc" 1
like "and says why" "$out" 'connection refused'
like "with the URL's user:password masked" "$out" 'http://\*\*\*@127\.0\.0\.1'
is "sync stderr: no canary" "$(leaks "$out")" 0
out=$("$P" doctor 2>&1)
is "doctor: no canary" "$(leaks "$out")" 0
out=$("$P" status 2>&1)
is "status: no canary" "$(leaks "$out")" 0
out=$("$P" status --json 2>&1)
is "status --json: no canary" "$(leaks "$out")" 0
is "log (debug): no canary" "$(grep -a -o "$canary" "$t/state/porter/porter.log" | wc -l | tr -d ' ')" 0
is "database: no canary" "$(cat "$t/data/porter/porter.db"* | grep -a -o "$canary" | wc -l | tr -d ' ')" 0

# --- private files ---
is "log file mode 600" "$(stat -c %a "$t/state/porter/porter.log")" 600
is "log directory mode 700" "$(stat -c %a "$t/state/porter")" 700
is "database mode 600" "$(stat -c %a "$t/data/porter/porter.db")" 600
tap_done
