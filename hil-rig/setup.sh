#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root), used by the README and CI:
#   bash hil-rig/setup.sh run    # install what is missing, build, run the main job
#   bash hil-rig/setup.sh test   # install what is missing, fmt + clippy + every test
# Re-running is cheap: packages already present are not reinstalled.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-test}

# System packages the build and tests need (Debian names). chromium draws report.html in
# tests/report_html.rs (a headless screenshot, console errors fail the test); the CJK font lets
# it render the report's Chinese text.
# pcscd + vsmartcard-vpcd + libpcsclite-dev: the PC/SC card tests (tests/card_pcsc.rs) and the
# pcsc crate's build.
PKGS=(pkg-config ca-certificates curl socat chromium fonts-wqy-microhei pcscd vsmartcard-vpcd libpcsclite-dev)

log() { printf '== %s\n' "$*"; }

install_packages() {
  local missing=()
  for p in "${PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

install_rust() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    log "installing the Rust toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  # rustfmt and clippy ship with rustup's default profile; add them if this toolchain lacks them.
  if command -v rustup >/dev/null 2>&1; then
    cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
    cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
  fi
}

install_packages
install_rust

case "$mode" in
  run)
    log "building posconf (release)"
    cargo build --release --locked --quiet
    log "main job: posconf run suites/cup-direct (reference terminal + embedded centre)"
    status=0
    ./target/release/posconf run suites/cup-direct || status=$?
    latest=$(ls -1d reports/*/ 2>/dev/null | sort | tail -1)
    [ -n "$latest" ] && log "reports: ${latest}junit.xml ${latest}report.html ${latest}transcript.jsonl ${latest}traffic.pcap"
    exit "$status"
    ;;
  test)
    log "cargo fmt --check"
    cargo fmt --all -- --check
    log "cargo clippy --all-targets -- -D warnings"
    cargo clippy --locked --all-targets --quiet -- -D warnings
    log "starting pcscd (vpcd reader) for the PC/SC card tests"
    bash hil-rig/pcscd.sh start
    vpcd_pid=
    trap '[ -n "$vpcd_pid" ] && kill -TERM "$vpcd_pid" 2>/dev/null; bash hil-rig/pcscd.sh stop || true' EXIT
    # The card tests fail rather than skip when pcscd is missing here.
    export POSCONF_PCSCD=1
    log "cargo test"
    out=$(mktemp)
    set +e
    cargo test --locked --all-targets 2>&1 | tee "$out"
    status=${PIPESTATUS[0]}
    set -e
    # One closing line with the totals of every test binary (benches in test mode report 0).
    read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p + 0, f + 0 }' "$out")
    rm -f "$out"
    if [ "$status" = 0 ]; then
      log "posconf run suites/cup-direct (end to end against the embedded default)"
      ./target/debug/posconf run suites/cup-direct --report-dir target/ci-run || status=$?
      log "posconf run suites/pboc-load (PBOC loads, in-process virtual card)"
      ./target/debug/posconf run suites/pboc-load --report-dir target/ci-run-pboc || status=$?
      log "posconf run suites/pboc-load through pcscd (posconf card serve-vpcd + hil-rig/pcsc-virtual.yaml)"
      ./target/debug/posconf card serve-vpcd --card ep1 &
      vpcd_pid=$!
      ./target/debug/posconf run suites/pboc-load --rig hil-rig/pcsc-virtual.yaml --report-dir target/ci-run-pcsc || status=$?
      kill -TERM "$vpcd_pid" 2>/dev/null || true
      wait "$vpcd_pid" 2>/dev/null || true
      vpcd_pid=
    fi
    echo "posconf tests: ${passed:-0} passed, ${failed:-0} failed"
    exit "$status"
    ;;
  *)
    echo "usage: $0 run|test" >&2
    exit 2
    ;;
esac
