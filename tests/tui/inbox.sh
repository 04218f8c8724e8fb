#!/bin/sh
# inbox.sh - the inbox as a front desk uses it, in tmux at 80x24 with NO_COLOR, on a
# database filled from pmsim (Hostaway): a bad key binding is reported and porter still
# starts; help, command line completion, filters, search, assign, done; no colour escape
# reaches the terminal under NO_COLOR.
. "$PORTER_TOP/tests/tap.sh"
P=${PORTER_BIN:?}
S=${PMSIM_BIN:?}
t=$(mktemp -d "${TMPDIR:-/tmp}/porter-inbox.XXXXXX")
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
hook=$((20000 + $$ % 20000))
cat >"$t/porter.conf" <<EOF
[webhook]
listen = 127.0.0.1:$hook
[ui]
me = tester
[keys]
Q = no-such-command
EOF
export XDG_STATE_HOME="$t/state"
"$P" --config "$t" --db "$t/p.db" sync --once >/dev/null 2>&1
ok "the database was filled from pmsim" test -s "$t/p.db"

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

tmux -S "$sock" -f /dev/null new-session -d -s porter -x 80 -y 24 \
    "env TERM=xterm-256color NO_COLOR=1 XDG_STATE_HOME=$t/state $P --config $t --db $t/p.db; echo EXITED \$?; sleep 30"
ok "the bad binding is reported as file:line" wait_for "porter.conf:6: \[keys\] Q: no command"
ok "and porter started anyway" wait_for "Nora Jensen"
ok "the list shows position and total" wait_for "^ 1/30 "

keys '?'
ok "? opens the help of the inbox view" wait_for "Keys of the inbox view"
ok "help lists reply with its key" wait_for "^ r +reply"
keys / && keys -l snooze && keys Enter
ok "the help filters" wait_for "z +snooze"
ok "and hides what does not match" gone "^ r +reply"
keys Escape
ok "Esc closes the help" gone "Keys of the inbox view"

keys : && keys -l filter-un && keys Tab
ok ": completes command names" wait_for "filter-unread filter-unassigned"
keys Escape

keys R
ok "R filters to threads that need a reply" wait_for "filter: is:needs-reply"
ok "fewer threads" wait_for "^ 1/15 "
# a list shorter than the window: j past its last row stays on it (it once aborted porter)
keys G
ok "G goes to the last of the 15" wait_for "^ 15/15 "
keys j j
sleep 0.3
ok "j past the last row stays there" wait_for "^ 15/15 "
ok "and porter is still running" gone "EXITED"
keys k
ok "k moves up again" wait_for "^ 14/15 "
keys x
ok "x clears the filter" wait_for "^ 1/30 "

keys / && keys -l "heating" && keys Enter
ok "/ searches the messages" wait_for "^ 1/[0-9]+ +filter: heating"
ok "the match is the guest who wrote it" wait_for "Nora Jensen"
keys x

keys a Enter
ok "a assigns to me" wait_for "assigned 1 thread"
keys M
ok "M shows my threads" wait_for "^ 1/1 .*is:mine"
keys x

keys e
ok "e marks done" wait_for "1 thread done"
ok "the done thread leaves the list" wait_for "^ 1/29 "

keys j j v j v
ok "v marks threads" wait_for "\[2 marked\]"
keys T && keys -l "vip" && keys Enter
ok "a bulk tag applies to both" wait_for "tagged 2 threads"
keys / && keys C-u && keys -l "tag:vip" && keys Enter
ok "tag:vip finds them" wait_for "^ 1/2 "
keys x

colors=$(tmux -S "$sock" capture-pane -p -e -t porter | grep -Ec $(printf '\033')'\[[0-9;]*(3[0-7]|38;5)')
is "NO_COLOR: no colour escape on the screen" "$colors" "0"

keys g Enter
keys W
ok "W proposes a work order titled by the guest's words" wait_for "^Work order title: .+"
keys Enter
ok "the work order is created, linked to the thread" wait_for "work order #[0-9]+ created for this thread"
keys w
ok "w jumps to it on the board" wait_for "\[2 Board"
keys w
ok "and w on the card jumps back to the thread" wait_for "\[1 Inbox"
keys q
keys 3
ok "3 shows the health view with each account" wait_for "^ ha +hostaway +. ok"
keys G
ok "and who owns each synced field" wait_for "work_order.assignee +porter +porter only"
ok "G: the end of the page, the automations: the built-in rules, on" \
    wait_for "^ +completed-follow-up +on +0 +0 +- +on wo_status if status"
keys 2
ok "2 shows the board by status" wait_for "new \([0-9]+\)"
keys d
ok "d opens the vendor picker" wait_for "Dispatch a vendor for #[0-9]+"
keys Enter
ok "Enter dispatches the vendor (queued for the PMS)" wait_for "dispatched to .*: pending"
keys p C-u && keys -l high && keys Enter
ok "p sets the priority (queued)" wait_for "priority high: pending"
keys Enter
ok "Enter shows the card's history: who, what, from where" wait_for "priority .* -> high +by tester \(porter\)"
ok "and the dispatch before it" wait_for "vendor .*by tester \(porter\)"
keys s C-u && keys -l "tomorrow 09:00-11:00" && keys Enter
ok "s sets the schedule window (queued)" wait_for "scheduled .* 09:00-11:00: pending"
ok "the detail shows the window" wait_for "^ scheduled: .* 09:00-11:00"
keys s C-u && keys -l "tomorrow 25:00" && keys Enter
ok "a window that is not one is refused, saying why" wait_for "expected a time HH:MM"
keys I && keys -l "Tenant works nights" && keys Enter
ok "I adds a note to the card's history" wait_for "note added to #"
ok "the note is in the history with its text" wait_for "^   +Tenant works nights"
ok "and labelled kept in porter (Hostaway has no task notes)" wait_for "note +by tester \(porter\) . kept in porter"
keys a
ok "a makes me the coordinator" wait_for "coordinator: tester"
keys Escape
keys m && keys -l sideways && keys Enter
ok "m refuses a status that is not one, naming the choices" wait_for "'sideways': expected new, assigned"
keys m && keys -l on_hold && keys Enter
ok "m moves the card to a status by name (queued)" wait_for "→ on_hold: pending"
ok "and the board follows it to its column" wait_for "\[on_hold \([0-9]+\)\]"
keys m && keys -l new && keys Enter
ok "and m brings it back to new" wait_for "\[new \([0-9]+\)\]"
keys M
ok "M shows my work orders only" wait_for "filter: mine"
ok "others leave the board" gone "Replace key box"
keys x
keys !
ok "! shows emergencies only" wait_for "filter: emergency"
ok "non-emergencies leave the board" gone "Replace key box"
keys x
ok "x brings them back" wait_for "Replace key box"
keys / && keys -l gas && keys Enter
ok "/ filters the board by text" wait_for "Check gas smell"
ok "and only that" gone "Unblock shower drain"
keys x
keys 1
ok "1 is back in the inbox" wait_for "Nora Jensen|Oliver Brown"

keys 3
keys g
ok "the health view lists failed writes with E to edit" wait_for "FAILED WRITES +\(y retries, E edits, X discards\)"

keys q
ok "q quits with status 0" wait_for "EXITED 0"
tap_done
