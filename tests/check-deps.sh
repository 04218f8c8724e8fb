#!/bin/sh
# check-deps.sh "PKG..." : exit 0 when the compiler, pkg-config, the tools the shell tests
# drive (tmux, curl, sqlite3, python3) and every pkg-config package exist; otherwise list
# what is missing on stderr and exit 1.
missing=
for c in cc pkg-config tmux curl sqlite3 python3; do
    command -v $c >/dev/null 2>&1 || missing="$missing $c"
done
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
