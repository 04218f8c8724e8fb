#!/bin/sh
# shell.sh - the interface as a person sees it: tmux at 80x24, keys in, screen text out.
. "$PORTER_TOP/tests/tap.sh"
P=${PORTER_BIN:?}
t=$(mktemp -d "${TMPDIR:-/tmp}/porter-tui.XXXXXX")
sock="$t/tmux.sock"
trap 'tmux -S "$sock" kill-server 2>/dev/null; rm -rf "$t"' EXIT
mkdir -p "$t/config"
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
tmux -S "$sock" -f /dev/null new-session -d -s porter -x 80 -y 24 \
    "env TERM=xterm-256color XDG_STATE_HOME=$t/state $P --config $t/config --db $t/p.db; echo EXITED \$?; sleep 30"
ok "tab bar shows the three views" wait_for '1 Inbox.*2 Board.*3 Health'
ok "empty inbox says so" wait_for 'No conversations yet'
ok "status bar shows the quit key" wait_for 'q:quit'
tmux -S "$sock" resize-window -t porter -x 100 -y 30 2>/dev/null
ok "survives a resize" wait_for '3 Health'
tmux -S "$sock" send-keys -t porter q
ok "q quits with status 0" wait_for 'EXITED 0'

# a crash: the terminal is restored (normal screen, cursor shown) before the shell goes on
tmux -S "$sock" respawn-pane -k -t porter \
    "env TERM=xterm-256color XDG_STATE_HOME=$t/state $P --config $t/config --db $t/p.db; echo EXITED \$?; sleep 30"
ok "porter is back" wait_for '1 Inbox'
ok "the interface is on the alternate screen" \
    test "$(tmux -S "$sock" display-message -p -t porter '#{alternate_on}')" = 1
pid=$(tmux -S "$sock" display-message -p -t porter '#{pane_pid}')
porter_pid=
for d in /proc/[0-9]*; do # the pane's child named porter (no procps needed)
    read -r _ comm _ ppid _ <"$d/stat" 2>/dev/null || continue
    [ "$ppid" = "$pid" ] && [ "$comm" = "(porter)" ] && porter_pid=${d#/proc/}
done
kill -SEGV "$porter_pid"
ok "a SIGSEGV ends porter by that signal" wait_for 'EXITED 139'
ok "and the terminal was restored first" \
    test "$(tmux -S "$sock" display-message -p -t porter '#{alternate_on}')" = 0
tap_done
