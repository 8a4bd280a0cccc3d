#!/usr/bin/env bash
# Lints handlers/openapi.yaml with Redocly CLI's recommended rules
# (redocly.yaml; the one ignored problem is in .redocly.lint-ignore.yaml).
# Fails on any error or warning. Needs Node.js >= 20.19 and npx; the pinned
# CLI is fetched from the npm registry on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
REDOCLY_VERSION="${REDOCLY_VERSION:-2.77.0}"
if ! command -v npx >/dev/null 2>&1; then
  echo "openapi-lint: npx not found; install Node.js >= 20.19 with npm (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi
# @redocly/cli's engines: node >=20.19 <21 or >=22.12 (Debian 12's apt nodejs is 18).
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit((a===20&&b>=19)||(a===22&&b>=12)||a>22?0:1)'; then
  echo "openapi-lint: Node.js $(node --version) is too old for @redocly/cli@${REDOCLY_VERSION}; it needs >= 20.19 (20.x) or >= 22.12" >&2
  exit 1
fi
out="$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --yes "@redocly/cli@${REDOCLY_VERSION}" lint --format=stylish sessiond 2>&1)" || {
  echo "$out" >&2
  echo "openapi-lint: handlers/openapi.yaml has lint errors" >&2
  exit 1
}
echo "$out" | grep -v "Deprecation warning\|║\|╔\|╚" || true
# Redocly exits 0 on warnings: a stylish problem row or the summary line fails.
if grep -Eq "^[[:space:]]+[0-9]+:[0-9]+[[:space:]]+warning|You have [0-9]+ warnings?" <<<"$out"; then
  echo "openapi-lint: handlers/openapi.yaml has lint warnings (they fail the build too)" >&2
  exit 1
fi
