#!/bin/sh
# valgrind.sh PORTER_BIN : the terminal tests with every porter process under valgrind
# (memcheck): tests/tui/inbox.sh and automations.sh drive the interface in tmux as
# a person would, and every porter they start (the interface, its sync engine, the CLI
# commands) runs under valgrind with its own log. Any memory error, or memory definitely
# lost, in any of those processes fails the run. Part of make check-long
# (docs/RELIABILITY.md); TAP on stdout.
. "$PORTER_TOP/tests/tap.sh"
P=${1:-${PORTER_BIN:?}}
command -v valgrind >/dev/null 2>&1 || {
    echo "# valgrind is not installed (make deps installs it)"
    ok "valgrind present" false
    tap_done
    exit 1
}
t=$(mktemp -d "${TMPDIR:-/tmp}/porter-vg.XXXXXX")
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/logs"
cat >"$t/porter" <<EOF
#!/bin/sh
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --track-fds=no --log-file="$t/logs/vg.%p" "$P" "\$@"
EOF
chmod +x "$t/porter"

for s in inbox automations; do
    out=$(PORTER_BIN="$t/porter" PMSIM_BIN="${PMSIM_BIN:-$(dirname "$P")/pmsim}" \
        sh "$PORTER_TOP/tests/tui/$s.sh" 2>&1)
    np=$(printf '%s\n' "$out" | grep -c '^ok ')
    nf=$(printf '%s\n' "$out" | grep -c '^not ok ')
    printf '%s\n' "$out" | grep '^not ok' | sed 's/^/# /'
    is "tests/tui/$s.sh under valgrind: $np passed, $nf failed" "$nf" 0
done

n=$(ls "$t/logs" | wc -l)
errs=$(cat "$t/logs"/vg.* 2>/dev/null | grep -c '^==[0-9]*== \(Invalid\|Conditional\|Use of uninit\|Syscall param\|Mismatched\|Source and destination\)')
lost=$(cat "$t/logs"/vg.* 2>/dev/null | grep -c 'definitely lost in')
echo "# $n porter processes ran under valgrind"
ok "at least one porter process ran under valgrind" test "$n" -gt 0
is "memory errors in every porter process" "$errs" 0
is "memory definitely lost in every porter process" "$lost" 0
if [ "$errs" != 0 ] || [ "$lost" != 0 ]; then
    for f in "$t/logs"/vg.*; do
        [ -s "$f" ] && sed 's/^/#   /' "$f" | head -40
    done
fi
tap_done
