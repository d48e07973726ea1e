#!/usr/bin/env bash
# The action's step after the cache restore: starts the daemon on the restored store (starting it
# earlier would have SQLite open while actions/cache unpacks files under it).
set -euo pipefail
kache daemon start
