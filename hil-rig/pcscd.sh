#!/usr/bin/env bash
# Start or stop pcscd for the card tests, without systemd (containers, CI):
#   bash hil-rig/pcscd.sh start   # clear stale sockets, pcscd -f in the background, wait for vpcd
#   bash hil-rig/pcscd.sh stop    # kill the pcscd this script started (by its PID file)
# No -x/--auto-exit: with it pcscd quits after 60 s without a PC/SC client and the vpcd ports go.
# Needs root (pcscd writes /run/pcscd) and the packages pcscd + vsmartcard-vpcd.
set -euo pipefail

RUN_DIR=/run/pcscd
PID_FILE=${POSCONF_PCSCD_PID:-/tmp/posconf-pcscd.pid}
LOG_FILE=${POSCONF_PCSCD_LOG:-/tmp/posconf-pcscd.log}
PORT=${POSCONF_VPCD_PORT:-35963}

listening() {
  if command -v ss >/dev/null 2>&1; then
    ss -ltn 2>/dev/null | grep -q ":$PORT\b"
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
  fi
}

start() {
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    echo "pcscd already running (pid $(cat "$PID_FILE"))"
    return 0
  fi
  if [ ! -e /etc/reader.conf.d/vpcd ]; then
    echo "pcscd.sh: /etc/reader.conf.d/vpcd missing: install vsmartcard-vpcd" >&2
    return 3
  fi
  # Left behind by a killed pcscd; with them pcscd says "Another pcscd seems to be running".
  rm -f "$RUN_DIR/pcscd.comm" "$RUN_DIR/pcscd.pid"
  mkdir -p "$RUN_DIR"
  pcscd -f >"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
  for _ in $(seq 100); do
    if listening; then
      echo "pcscd started (pid $(cat "$PID_FILE")), vpcd listening on $PORT; log $LOG_FILE"
      return 0
    fi
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      echo "pcscd.sh: pcscd exited; log:" >&2
      cat "$LOG_FILE" >&2
      return 3
    fi
    sleep 0.1
  done
  echo "pcscd.sh: vpcd port $PORT not listening after 10 s; log:" >&2
  cat "$LOG_FILE" >&2
  return 3
}

stop() {
  if [ -f "$PID_FILE" ]; then
    pid=$(cat "$PID_FILE")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE"
    echo "pcscd stopped"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
