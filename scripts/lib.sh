# Shared by the scripts in this folder; sourced, never run.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

# Build products live outside the clone, so a new clone (CI, a second
# checkout) reuses the dependencies an earlier run compiled; with an empty
# cache everything still builds, only slower. Set CARGO_TARGET_DIR to choose.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tandem/target}"
TARGET="$CARGO_TARGET_DIR"
export TARGET

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# The wasm-bindgen version pinned in Cargo.lock; the CLI must equal it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# How this machine builds wasm32-unknown-unknown. Two routes:
#  - rustup: the active toolchain has the wasm32 std (`rustup target add` worked);
#  - debian: Debian's rustc-web + rust-web-src build std from source
#    (-Zbuild-std), linked by wasm-ld, when rustup cannot download the target.
# Sets WASM_CARGO (an argv prefix) and WASM_BUILD_STD (extra cargo flags;
# empty when std is the prebuilt one).
wasm_route() {
  local sysroot
  sysroot=$(rustc --print sysroot)
  WASM_TARGET_DIR="$TARGET/wasm"
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
  export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
  if [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown" ]; then
    WASM_ROUTE=rustup
    if [ -d "$sysroot/lib/rustlib/src/rust/library" ]; then
      # rust-src present: build std too, as the Debian route does, so release
      # modules can drop the panic machinery (see scripts/build).
      WASM_CARGO=(env RUSTC_BOOTSTRAP=1 cargo)
      WASM_BUILD_STD=(-Zbuild-std=std,panic_abort)
    else
      WASM_CARGO=(cargo)
      WASM_BUILD_STD=()
    fi
  elif [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust/library ]; then
    WASM_ROUTE=debian
    WASM_CARGO=(env RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
                CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld /usr/bin/cargo)
    WASM_BUILD_STD=(-Zbuild-std=std,panic_abort)
  else
    die "no way to build wasm32 here; run scripts/setup first"
  fi
  export WASM_ROUTE WASM_TARGET_DIR
}

# Runs a command with a time limit, so no download can hang a script.
bounded() { local secs=$1; shift; timeout --kill-after=10 "$secs" "$@"; }

# Keeps the build cache from filling the disk: a CI run once died with "No
# space left on device" halfway through. When the cache is larger than
# TANDEM_CACHE_CAP_GB (default 16) or the disk has less than
# TANDEM_MIN_FREE_GB (default 6) left, incremental state goes first, then,
# if that was not enough, the whole cache (everything still builds from an
# empty cache, only slower: about 15 more minutes of CI). A full test run
# leaves about 11.8 GiB since the core module builds lean (its own opt-3
# dependencies in the lean target dir, 2026-12-01); each later change adds
# stale artifacts, so 16 leaves room for several runs before a cold one.
cache_guard() {
  local cap=$(( ${TANDEM_CACHE_CAP_GB:-16} * 1024 * 1024 ))
  local min_free=$(( ${TANDEM_MIN_FREE_GB:-6} * 1024 * 1024 ))
  local used free
  mkdir -p "$TARGET"
  cache_sizes() {
    used=$(du -sk "$TARGET" | cut -f1)
    free=$(df -Pk "$TARGET" | awk 'NR == 2 { print $4 }')
  }
  cache_sizes
  log "build cache $TARGET: $(( used / 1048576 )) GiB; $(( free / 1048576 )) GiB free on its disk"
  if [ "$used" -le "$cap" ] && [ "$free" -ge "$min_free" ]; then return; fi
  log "build cache: over its cap or the disk is short; removing incremental state"
  find "$TARGET" -maxdepth 4 -type d -name incremental -prune -exec rm -rf {} +
  cache_sizes
  if [ "$used" -gt "$cap" ] || [ "$free" -lt "$min_free" ]; then
    log "build cache: still $(( used / 1048576 )) GiB with $(( free / 1048576 )) GiB free; emptying it"
    rm -rf "${TARGET:?}"/*
    cache_sizes
  fi
  log "build cache: $(( used / 1048576 )) GiB; $(( free / 1048576 )) GiB free"
  [ "$free" -ge $(( 2 * 1024 * 1024 )) ] || die "less than 2 GiB free on the disk of $TARGET; a full build needs about 8"
}
