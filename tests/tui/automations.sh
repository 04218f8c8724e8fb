#!/bin/sh
# automations.sh - the Automations part of the health view as an operator uses it, in tmux
# at 80x24 with NO_COLOR, on a database filled from pmsim (Hostaway): a bad line of
# rules.conf is shown as file:line (its escape sequence removed, the window title untouched);
# a rule fired by another desk's change shows with its count and summary and rings the bell
# once; u asks, n keeps it, y undoes it ([undone], the work order's priority back); a second
# u says it was already undone; nothing but text reaches the terminal.
. "$PORTER_TOP/tests/tap.sh"
P=${PORTER_BIN:?}
S=${PMSIM_BIN:?}
t=$(mktemp -d "${TMPDIR:-/tmp}/porter-auto.XXXXXX")
sock="$t/tmux.sock"
cd "$PORTER_TOP" || exit 1
"$S" --account hostaway:0 --data data/demo --fault rate_limit_off=1 \
    --epoch "$(($(date +%s) * 1000))" >"$t/sim.out" 2>&1 &
sim=$!
trap 'tmux -S "$sock" kill-server 2>/dev/null; kill $sim 2>/dev/null; rm -rf "$t"' EXIT
i=0
while ! grep -q ready "$t/sim.out" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$t/sim.out" | head -1)
cat >"$t/accounts.conf" <<EOF
[ha]
adapter = hostaway
base_url = http://127.0.0.1:$port/v1
client_id = 10450
secret = c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d
poll_interval = 3600
rate_limit = 100
EOF
chmod 600 "$t/accounts.conf"
hook=$((20000 + ($$ + 7717) % 20000))
cat >"$t/porter.conf" <<EOF
[webhook]
listen = 127.0.0.1:$hook
[ui]
me = tester
[rules]
defaults = off
EOF
# One good rule, and one bad line (9) whose text is an escape sequence that would retitle
# the window if it reached the terminal.
{
    printf '[rule completed-priority]\n'
    printf 'on = wo_status\n'
    printf 'status = completed\n'
    printf 'action = priority high\n'
    printf 'action = bell\n'
    printf '\n'
    printf '[rule broken]\n'
    printf 'on = message\n'
    printf 'action = \033]2;pwned\007\n'
} >"$t/rules.conf"
export XDG_STATE_HOME="$t/state"
"$P" --config "$t" --db "$t/p.db" sync --once >/dev/null 2>&1
ok "the database was filled from pmsim" test -s "$t/p.db"
wo=$("$P" --config "$t" --db "$t/p.db" wo list | sed -n 's/^ *\([0-9][0-9]*\) .*Replace key box.*/\1/p')
like "the work order to complete is there, low priority" \
    "$("$P" --config "$t" --db "$t/p.db" wo list)" "^ +$wo +new +low .*Replace key box"

screen() { tmux -S "$sock" capture-pane -p -t porter; }
wait_for() { # wait_for PATTERN : up to 5 s for the screen to show it
    i=0
    while [ $i -lt 50 ]; do
        screen | grep -Eq -- "$1" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
gone() { # gone PATTERN : up to 5 s for the screen to stop showing it
    i=0
    while [ $i -lt 50 ]; do
        screen | grep -Eq -- "$1" || return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
keys() { tmux -S "$sock" send-keys -t porter "$@"; }
bells() { if [ -f "$t/bells" ]; then wc -l <"$t/bells" | tr -d ' '; else echo 0; fi; }

tmux -S "$sock" -f /dev/null new-session -d -s porter -x 80 -y 24 \
    "env TERM=xterm-256color NO_COLOR=1 XDG_STATE_HOME=$t/state $P --config $t --db $t/p.db; echo EXITED \$?; sleep 30"
# every bell the pane rings is counted (the session is detached: each one is an alert)
tmux -S "$sock" set-hook -g alert-bell "run-shell 'echo bell >>$t/bells'"
ok "porter started" wait_for "1 Inbox"
keys 3 G
ok "the health view ends with the automations" \
    wait_for "^ AUTOMATIONS +\(rules of porter.conf and rules.conf"
ok "each rule: name, on, fired, errors, last, what it does" \
    wait_for "^ +RULE +ON +FIRED +ERRS +LAST +WHAT IT DOES"
ok "the rule is listed, on, not fired yet" \
    wait_for "^ +completed-priority +on +0 +0 +- +on wo_status if status"
ok "the bad line is shown as file:line with what was expected" \
    wait_for "^ +! $t/rules.conf:9: unknown action '' \(expected"
ok "the bad rule is not listed as a rule" gone "^ +broken +"
ok "no firing yet" wait_for "^ RECENT AUTOMATION FIRINGS"
like "and the list says none" "$(screen | sed -n '/RECENT AUTOMATION FIRINGS/,$p')" "^   none"
ok "the escape sequence of the bad line was not drawn (no pwned)" gone "pwned"
title=$(tmux -S "$sock" display-message -p -t porter '#{pane_title}')
case $title in *pwned*) retitled=1 ;; *) retitled=0 ;; esac
is "and did not retitle the window" "$retitled" 0

# another desk completes the work order; the rules worker of this porter acts on it
"$P" --config "$t" --db "$t/p.db" wo set "$wo" status=completed >/dev/null 2>&1
ok "the rule's line counts the firing (fired 1, 0 errors, now)" \
    wait_for "^ +completed-priority +on +1 +0 +now +on wo_status"
ok "the firing is listed: id, time, rule, outcome, summary" \
    wait_for "^ +#1 +now +completed-priority +done +priority high; rang the bell"
sleep 1.5
is "the rule's bell rang once" "$(bells)" 1

keys G u
ok "u asks before undoing the selected firing" \
    wait_for "^Undo #1 of completed-priority\? \(y/n\)"
ok "and shows what the firing did above the question" \
    wait_for "^#1 completed-priority did: priority high; rang the bell"
keys n Enter
ok "n keeps it" wait_for "^not undone"
ok "and the firing is not marked undone" gone "\[undone\]"
keys u
ok "u asks again" wait_for "^Undo #1 of completed-priority\? \(y/n\)"
keys y Enter
ok "y undoes it and says what was reversed" \
    wait_for "^undid completed-priority: priority back to low"
ok "the firing shows [undone]" \
    wait_for "^ +#1 +now +completed-priority +done +\[undone\] priority high"
like "the work order's priority is back to low" \
    "$("$P" --config "$t" --db "$t/p.db" wo list)" "^ +$wo +completed +low .*Replace key box"
keys u
ok "a second u says it was already undone, by whom" \
    wait_for "^! #1 of completed-priority was already undone by tester"
sleep 1.5
is "undoing rang no bell (still once)" "$(bells)" 1

keys '?'
ok "? opens the help of the health view" wait_for "Keys of the health view"
keys / && keys -l undo && keys Enter
ok "the help lists u: undo the automation's actions" \
    wait_for "^ u +undo +undo the automation's actions"
keys Escape
ok "Esc closes the help" gone "Keys of the health view"

esc=$(screen | tr -cd '\033' | wc -c | tr -d ' ')
is "no escape byte in the screen text" "$esc" 0
colors=$(tmux -S "$sock" capture-pane -p -e -t porter | grep -Ec "$(printf '\033')"'\[[0-9;]*(3[0-7]|38;5)')
is "NO_COLOR: no colour escape on the screen" "$colors" "0"

keys q
ok "q quits with status 0" wait_for "EXITED 0"

# a bell rung before porter started is old news: it does not ring again
tmux -S "$sock" respawn-pane -k -t porter \
    "env TERM=xterm-256color NO_COLOR=1 XDG_STATE_HOME=$t/state $P --config $t --db $t/p.db; echo EXITED \$?; sleep 30"
ok "porter started again" wait_for "1 Inbox"
keys 3 G
ok "the firing is still listed as undone" wait_for "^ +#1 +.* +completed-priority +done +\[undone\]"
sleep 1.5
is "the old bell did not ring at start" "$(bells)" 1
keys q
ok "q quits" wait_for "EXITED 0"
tap_done
