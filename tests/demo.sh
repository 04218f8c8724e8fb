#!/bin/sh
# demo.sh - run porter on a throwaway configuration and database under ./demo/.
# Every run starts clean. (When the simulator exists this also starts it.)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
demo=$top/demo
rm -rf "$demo"
mkdir -p "$demo/config"
chmod 700 "$demo"
umask 077
cat >"$demo/config/porter.conf" <<CONF
[general]
log_level = debug
CONF
: >"$demo/config/accounts.conf"
chmod 600 "$demo/config/accounts.conf" "$demo/config/porter.conf"
export XDG_STATE_HOME="$demo/state"
echo "porter demo: database $demo/porter.db, log $demo/state/porter/porter.log"
exec "$top/porter" --config "$demo/config" --db "$demo/porter.db" "$@"
