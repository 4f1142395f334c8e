#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, then runs every test:
#  - Debian's chromium for the browser tests (never a downloaded browser);
#  - Debian's python3-sklearn, the peer the TF-IDF/SVD tests compare with;
#  - Debian's python3-onnx + numpy, which generate the tiny random-weight ONNX test models;
#  - Debian's wabt, whose wat2wasm checks the inlined WebAssembly against its .wat sources;
#  - the npm packages, exactly as locked.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c 'import sklearn' 2>/dev/null || need+=(python3-sklearn)
command -v wat2wasm >/dev/null || need+=(wabt)
/usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null || need+=(python3-onnx python3-numpy)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
npm ci --no-audit --no-fund
npm test
