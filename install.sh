#!/bin/sh
# Installs the kache release binary for this machine: `curl -fsSL <url>/install.sh | sh`.
#
# Settings (environment):
#   KACHE_VERSION       a release such as 0.1.0 or v0.1.0 (default: the latest release)
#   KACHE_INSTALL_DIR   where the binary goes (default: ~/.local/bin)
#   KACHE_INSTALL_BASE  the releases URL (default below); assets are fetched GitHub's way:
#                       <base>/download/v<version>/<asset>, or <base>/latest/download/<asset>
# Assets: kache-<linux|darwin>-<x64|arm64> and SHA256SUMS (sha256sum format) beside them.
set -eu

default_base="https://github.com/kache-build/kache/releases"

fail() {
  printf 'kache install: error: %s\n' "$1" >&2
  exit 1
}

detect_os() {
  case "$(uname -s)" in
    Linux) echo linux ;;
    Darwin) echo darwin ;;
    *) fail "unsupported operating system '$(uname -s)': kache ships for Linux and macOS" ;;
  esac
}

# Under Rosetta a shell reports x86_64 on an Apple Silicon Mac; the native arm64 binary is better.
detect_cpu() {
  machine=$(uname -m)
  if [ "$1" = darwin ] && [ "$machine" = x86_64 ] &&
    [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
    machine=arm64
  fi
  case "$machine" in
    x86_64 | amd64) echo x64 ;;
    arm64 | aarch64) echo arm64 ;;
    *) fail "unsupported CPU '$machine': kache ships for x86_64 and arm64" ;;
  esac
}

download() { # url, file
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$2" "$1" 2>/dev/null || fail "download failed: $1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" 2>/dev/null || fail "download failed: $1"
  else
    fail "neither curl nor wget found: install one and run this again"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail "neither sha256sum nor shasum found: cannot verify the download"
  fi
}

# The line for the asset in SHA256SUMS: "<hash>  <name>" (or "<hash> *<name>" in binary mode).
expected_sha256() { # sums file, asset
  awk -v name="$2" '$2 == name || $2 == "*" name { print $1; exit }' "$1"
}

main() {
  os=$(detect_os)
  cpu=$(detect_cpu "$os")
  asset="kache-$os-$cpu"
  base=${KACHE_INSTALL_BASE:-$default_base}
  base=${base%/}
  version=${KACHE_VERSION:-latest}
  version=${version#v}
  if [ "$version" = latest ]; then
    url="$base/latest/download"
  else
    url="$base/download/v$version"
  fi
  install_dir=${KACHE_INSTALL_DIR:-"${HOME:?HOME is not set}/.local/bin"}

  work=$(mktemp -d "${TMPDIR:-/tmp}/kache-install.XXXXXX") || fail "cannot create a temp dir"
  staged=""
  trap 'rm -rf "$work"; [ -z "$staged" ] || rm -f "$staged"' EXIT
  trap 'exit 1' HUP INT TERM

  echo "downloading $asset ($([ "$version" = latest ] && echo latest || echo "v$version"))"
  download "$url/$asset" "$work/$asset"
  download "$url/SHA256SUMS" "$work/SHA256SUMS"
  expected=$(expected_sha256 "$work/SHA256SUMS" "$asset")
  [ -n "$expected" ] || fail "SHA256SUMS at $url lists no $asset"
  actual=$(sha256_of "$work/$asset")
  [ "$actual" = "$expected" ] ||
    fail "checksum mismatch for $asset (expected $expected, got $actual): nothing installed"

  mkdir -p "$install_dir" || fail "cannot create $install_dir"
  # A temp file in the same dir, renamed over the old binary: a running kache keeps its inode.
  staged="$install_dir/.kache.$$.tmp"
  cp "$work/$asset" "$staged" || fail "cannot write to $install_dir"
  chmod 755 "$staged"
  mv -f "$staged" "$install_dir/kache" || fail "cannot replace $install_dir/kache"
  staged=""

  echo "installed $("$install_dir/kache" --version 2>/dev/null || echo kache) to $install_dir/kache"
  case ":${PATH:-}:" in
    *":$install_dir:"*) ;;
    *)
      echo "$install_dir is not on your PATH; add it, e.g. in ~/.profile:"
      echo "  export PATH=\"$install_dir:\$PATH\""
      ;;
  esac
  echo "next: run 'kache init' to set kache up as cargo's RUSTC_WRAPPER"
}

main "$@"
