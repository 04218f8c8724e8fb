# tap.sh - tiny TAP helpers for the shell tests (sourced).
tap_n=0
tap_fail=0
ok() { # ok DESCRIPTION COMMAND... : pass when the command succeeds
    d=$1
    shift
    tap_n=$((tap_n + 1))
    if "$@" >/dev/null 2>&1; then
        echo "ok $tap_n - $d"
    else
        echo "not ok $tap_n - $d"
        tap_fail=$((tap_fail + 1))
    fi
}
is() { # is DESCRIPTION GOT WANT
    tap_n=$((tap_n + 1))
    if [ "$2" = "$3" ]; then
        echo "ok $tap_n - $1"
    else
        echo "not ok $tap_n - $1"
        echo "#   got:  '$2'"
        echo "#   want: '$3'"
        tap_fail=$((tap_fail + 1))
    fi
}
like() { # like DESCRIPTION TEXT PATTERN (grep -E)
    tap_n=$((tap_n + 1))
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then
        echo "ok $tap_n - $1"
    else
        echo "not ok $tap_n - $1"
        echo "#   text: '$(printf '%s' "$2" | head -c 400)'"
        echo "#   want: /$3/"
        tap_fail=$((tap_fail + 1))
    fi
}
tap_done() {
    echo "1..$tap_n"
    [ "$tap_fail" -eq 0 ]
}
