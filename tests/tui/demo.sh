#!/bin/sh
# demo.sh - the first minutes of a newcomer: porter --demo (what make demo runs) in tmux at
# 100x30. The three simulated PMSs come up on free ports, the inbox and the board fill,
# every account shows ok, a reply typed in the demo reaches the simulator once; quitting
# stops the simulator; the next run starts clean; files are private; a directory that is
# not a demo's is never emptied; a missing simulator is named.
. "$PORTER_TOP/tests/tap.sh"
P=${PORTER_BIN:?}
# the simulator and fixtures of this tree, whichever build (plain, ASan) porter comes from
S=${PMSIM_BIN:-$(dirname "$P")/pmsim}
DATA=$PORTER_TOP/data/demo
t=$(mktemp -d "${TMPDIR:-/tmp}/porter-demo.XXXXXX")
sock="$t/tmux.sock"
dd="$t/demo"
trap 'tmux -S "$t/tmux.sock" kill-server 2>/dev/null; tmux -S "$t/tmux2.sock" kill-server 2>/dev/null; rm -rf "$t"' EXIT

screen() { tmux -S "$sock" capture-pane -p -t demo; }
wait_for() { # wait_for PATTERN [TENTHS] : up to 10 s (or TENTHS/10 s) for the screen to show it
    i=0
    while [ $i -lt "${2:-100}" ]; do
        screen | grep -Eq -- "$1" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
keys() { tmux -S "$sock" send-keys -t demo "$@"; }
start() {
    tmux -S "$sock" -f /dev/null new-session -d -s demo -x 100 -y 30 \
        "env TERM=xterm-256color NO_COLOR=1 USER=newcomer PORTER_PMSIM='$S' PORTER_DEMO_DATA='$DATA' '$P' --demo='$dd' 2>'$t/stderr'; echo EXITED \$?; sleep 60"
}
sim_port() { sed -n "s/^pmsim: $1 listening on 127.0.0.1:\([0-9]*\).*/\1/p" "$dd/pmsim.log"; }

start
ok "the first screen names the views and the help key" wait_for "1 Inbox +2 Board +3 Health +\? keys"
ok "the inbox fills from the simulated PMSs" wait_for "^ [0-9]+/[1-9][0-9]* "
ok "every account is in the status bar, ok or still importing" \
    wait_for "buildium (ok|importing) .* guesty (ok|importing) .* hostaway (ok|importing)"
ok "the first account finishes its import" wait_for "● (buildium|guesty|hostaway) ok" 300
ok "and none is down" sh -c "! tmux -S '$sock' capture-pane -p -t demo | grep -q DOWN"
ok "the board has work orders" wait_for "2 Board \([1-9][0-9]*\)"
ha=$(sim_port hostaway)
ok "the simulator listens on a free port it reported" test -n "$ha"
is "the demo directory is private" "$(stat -c %a "$dd")" "700"
is "accounts.conf is private" "$(stat -c %a "$dd/config/accounts.conf")" "600"
is "the database is private" "$(stat -c %a "$dd/porter.db")" "600"

# a reply from the demo reaches the PMS, once
keys 1
keys /
keys -l "is:needs-reply"
keys Enter
sleep 0.5
keys Enter
keys r
keys -l "Thanks, we are on it (demo reply)"
keys Enter
replies() { # the demo reply in the write logs of the three simulated PMSs
    n=0
    for p in $(sim_port hostaway) $(sim_port guesty) $(sim_port buildium); do
        n=$((n + $(curl -s "http://127.0.0.1:$p/_sim/writes" | grep -o "demo reply" | wc -l)))
    done
    echo $n
}
i=0
while [ $i -lt 100 ] && [ "$(replies)" -eq 0 ]; do
    sleep 0.1
    i=$((i + 1))
done
sleep 2 # and no second copy after it
reached=$(replies)
is "a reply typed in the demo reaches the simulated PMS exactly once" "$reached" "1"

# a hostile guest message, through the PMS's webhook, then read from the command line
curl -s -X POST "http://127.0.0.1:$ha/_sim/inject" -d '{"kind":"message","body":"hx71 \u001b[2J\u001b]52;c;aGk=\u0007 call \u00c2\u009b31m me \u009b2J now"}' >/dev/null
i=0
while [ $i -lt 100 ] && ! sqlite3 "$dd/porter.db" "SELECT 1 FROM message WHERE body LIKE 'hx71%'" 2>/dev/null | grep -q 1; do
    sleep 0.1
    i=$((i + 1))
done
tid=$(sqlite3 "$dd/porter.db" "SELECT thread_id FROM message WHERE body LIKE 'hx71%'")
"$P" --config "$dd/config" --db "$dd/porter.db" messages "$tid" >"$t/msgs" 2>&1
ok "porter messages shows the hostile message" grep -q "hx71" "$t/msgs"
is "with no escape or C1 control byte in it" "$(LC_ALL=C grep -c "$(printf '[\033\007]')\|$(printf '\302[\200-\237]')" "$t/msgs")" "0"
ok "and none of the sequences' text" sh -c "! grep -q '2J\|52;c' '$t/msgs'"
"$P" --config "$dd/config" --db "$dd/porter.db" messages 999999 >"$t/out" 2>&1
is "porter messages of no such thread fails" "$?" "1"
ok "saying so" grep -q "no thread 999999" "$t/out"

keys Escape
keys q
ok "q quits with status 0" wait_for "EXITED 0"
ok "and the simulator is stopped with it" sh -c "! curl -s -m 2 http://127.0.0.1:$ha/_sim/health"
is "no write waited on a locked database" "$(grep -c 'database is locked' "$dd/state/porter/porter.log")" "0"
ok "the terminal heard where the demo lives" grep -q "configuration, database and logs in $dd" "$t/stderr"
tmux -S "$sock" kill-server 2>/dev/null

echo leftover >"$dd/leftover"
sock="$t/tmux2.sock" # a new server: the old one may still be going away
start
ok "a second run starts again" wait_for "1 Inbox +2 Board +3 Health +\? keys"
ok "from a clean directory" test ! -e "$dd/leftover"
keys q
wait_for "EXITED 0" >/dev/null
tmux -S "$sock" kill-server 2>/dev/null

mkdir "$t/mine" && echo precious >"$t/mine/file"
PORTER_PMSIM="$S" PORTER_DEMO_DATA="$DATA" "$P" --demo="$t/mine" status >"$t/out" 2>&1
is "a directory that is not a demo's is refused" "$?" "1"
ok "saying why" grep -q "is not a porter demo directory" "$t/out"
ok "and it is left as it was" grep -q precious "$t/mine/file"

PORTER_PMSIM=/nonexistent/pmsim PORTER_DEMO_DATA="$DATA" "$P" --demo="$t/other" status >"$t/out" 2>&1
is "without the simulator --demo fails" "$?" "1"
ok "and names what is missing" grep -q "PORTER_PMSIM is /nonexistent/pmsim, which is not an executable" "$t/out"
"$P" --demo="$t/other" --db "$t/x.db" status >"$t/out" 2>&1
is "--demo with --db is a usage error" "$?" "2"
tap_done
