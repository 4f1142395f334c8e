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

# Production dependencies (what the built site and the prebuild run) must have no high or critical
# advisory. `npm audit` needs the registry's advisory endpoint; where a proxy refuses it (as on the
# build machine, which answers 405), this says so and goes on, unless ATLAS_REQUIRE_AUDIT=1.
{ npm audit --omit=dev --json 2>/dev/null || true; } | node --input-type=module -e '
let text = "";
for await (const chunk of process.stdin) text += chunk;
let r = {};
try { r = JSON.parse(text); } catch { r = { message: text.trim().slice(0, 200) || "no output" }; }
const v = r.metadata?.vulnerabilities;
if (!v) {
  console.error(`npm audit could not run: ${r.message ?? r.error?.summary ?? "no report"}`);
  process.exit(process.env.ATLAS_REQUIRE_AUDIT === "1" ? 1 : 0);
}
console.log(`npm audit, production dependencies: ${v.critical ?? 0} critical, ${v.high ?? 0} high, ${v.moderate ?? 0} moderate, ${v.low ?? 0} low`);
const bad = Object.entries(r.vulnerabilities ?? {}).filter(([, x]) => x.severity === "high" || x.severity === "critical");
for (const [name, x] of bad) console.error(`  ${x.severity}: ${name} ${x.range} (${(x.via ?? []).map((w) => (typeof w === "string" ? w : w.title)).join("; ")})`);
if ((v.high ?? 0) + (v.critical ?? 0) > 0) process.exit(1);
'

npm test
