#!/usr/bin/env bash
# The action's first step: installs kache with install.sh, exports PATH, RUSTC_WRAPPER and
# KACHE_CONFIG through the runner's files, writes the remote settings, and outputs the cache key.
# Inputs arrive as KACHE_INPUT_* (action.yml passes them); tests run this with a simulated runner.
set -euo pipefail

action_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${GITHUB_ENV:?not on a GitHub runner: GITHUB_ENV is not set}"
: "${GITHUB_PATH:?}" "${GITHUB_OUTPUT:?}" "${RUNNER_TEMP:?}" "${RUNNER_OS:?}" "${RUNNER_ARCH:?}"

state_dir="$RUNNER_TEMP/kache"
install_dir="${KACHE_INSTALL_DIR:-$state_dir/bin}"
config_file="$state_dir/config.toml"
cache_dir="${KACHE_CACHE_DIR:-$HOME/.cache/kache}"
kache="$install_dir/kache"

KACHE_VERSION="${KACHE_INPUT_VERSION:-latest}" KACHE_INSTALL_DIR="$install_dir" \
  sh "$action_root/install.sh"

# The config file holds no secret: credentials go to the job's environment, masked in its log.
mkdir -p "$state_dir"
: >"$config_file"
set_setting() { KACHE_CONFIG="$config_file" "$kache" config set "$1" "$2" >/dev/null; }
set_setting cache.local_store "$cache_dir"
[[ -z "${KACHE_INPUT_S3_BUCKET:-}" ]] || set_setting cache.remote.bucket "$KACHE_INPUT_S3_BUCKET"
[[ -z "${KACHE_INPUT_S3_ENDPOINT:-}" ]] || set_setting cache.remote.endpoint "$KACHE_INPUT_S3_ENDPOINT"
[[ -z "${KACHE_INPUT_S3_REGION:-}" ]] || set_setting cache.remote.region "$KACHE_INPUT_S3_REGION"
[[ -z "${KACHE_INPUT_S3_PREFIX:-}" ]] || set_setting cache.remote.prefix "$KACHE_INPUT_S3_PREFIX"
[[ -z "${KACHE_INPUT_READ_ONLY:-}" ]] || set_setting cache.remote.read_only "$KACHE_INPUT_READ_ONLY"
[[ -z "${KACHE_INPUT_CACHE_EXECUTABLES:-}" ]] ||
  set_setting cache.cache_executables "$KACHE_INPUT_CACHE_EXECUTABLES"

echo "$install_dir" >>"$GITHUB_PATH"
{
  echo "RUSTC_WRAPPER=$kache"
  echo "KACHE_CONFIG=$config_file"
  echo "KACHE_CACHE_DIR=$cache_dir"
} >>"$GITHUB_ENV"
export_secret() { # value, variable name
  [[ -n "$1" ]] || return 0
  [[ "$1" != *$'\n'* ]] || { echo "kache action: error: $2 must be one line" >&2; exit 1; }
  echo "::add-mask::$1"
  echo "$2=$1" >>"$GITHUB_ENV"
}
export_secret "${KACHE_INPUT_AWS_ACCESS_KEY_ID:-}" KACHE_S3_ACCESS_KEY
export_secret "${KACHE_INPUT_AWS_SECRET_ACCESS_KEY:-}" KACHE_S3_SECRET_KEY

# Without a bucket the runner's cache keeps the store between runs; the key changes with the
# platform, the toolchain and the lock files, and the restore key falls back to the newest store.
echo "cache-dir=$cache_dir" >>"$GITHUB_OUTPUT"
# macOS runners have shasum but not always sha256sum.
sha256() { if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi; }
if [[ -z "${KACHE_INPUT_S3_BUCKET:-}" ]]; then
  toolchain=$( (rustc -vV 2>/dev/null || echo "no rustc") | sha256 | cut -c 1-16)
  locks=$(cd "${GITHUB_WORKSPACE:-$PWD}" &&
    find . -name Cargo.lock -not -path '*/target/*' -not -path '*/.git/*' | LC_ALL=C sort |
    while IFS= read -r lock; do sha256 "$lock"; done | sha256 | cut -c 1-16)
  prefix="kache-$RUNNER_OS-$RUNNER_ARCH-$toolchain-"
  echo "cache-key=$prefix$locks" >>"$GITHUB_OUTPUT"
  echo "cache-restore-key=$prefix" >>"$GITHUB_OUTPUT"
fi
echo "kache: RUSTC_WRAPPER=$kache, settings in $config_file"
