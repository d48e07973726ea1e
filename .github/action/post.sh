#!/usr/bin/env bash
# The post sub-action's step: the build report into the job summary, and the store's stats in the log.
set -euo pipefail
# `--format github` appends to $GITHUB_STEP_SUMMARY itself (and prints it when that is unset).
kache report --format github
kache stats
# Stopped last: its queue is written out, and the store is at rest for actions/cache to save.
kache daemon stop
