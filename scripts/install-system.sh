#!/usr/bin/env bash
# Installs the system programs slipstream uses (Chromium for playback checks,
# ffmpeg for the demo media and player tests, and what `make install` itself
# needs: Python's venv module and npm) when run as root on Debian and they are
# missing. Idempotent; says what a non-root user must install.
set -euo pipefail

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
   && ! command -v google-chrome >/dev/null 2>&1; then
  missing+=(chromium)
fi
# Debian splits venv (and the ensurepip it needs) out of python3.
${PYTHON:-python3} -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "slipstream: please install ${missing[*]} (e.g. 'sudo apt-get install ${missing[*]}')." >&2
  echo "  without chromium the playback verifier is off; without ffmpeg the demo has no media;" >&2
  echo "  python3-venv and npm are needed to install slipstream at all." >&2
fi
