#!/bin/sh
# check-deps.sh "PKG..." : exit 0 when pkg-config, tmux and every pkg-config package exist;
# otherwise list what is missing on stderr and exit 1.
missing=
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
command -v cc >/dev/null 2>&1 || missing="$missing cc"
if command -v pkg-config >/dev/null 2>&1; then
    for p in $1; do
        pkg-config --exists "$p" || missing="$missing $p"
    done
fi
if [ -n "$missing" ]; then
    echo "missing:$missing" >&2
    exit 1
fi
exit 0
