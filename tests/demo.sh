#!/bin/sh
# demo.sh - make demo: porter against the bundled PMS simulator (a Hostaway, a Guesty and a
# Buildium account with live data), with a throwaway configuration and database under
# ./demo/ that the next run empties. porter --demo starts and stops the simulator.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
exec ./porter --demo="$top/demo" "$@"
