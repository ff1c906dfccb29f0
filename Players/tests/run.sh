#!/usr/bin/env bash
# Run the player browser tests. Installs what is missing (Debian chromium +
# chromium-driver, selenium, pytest) so that CI can call just this script:
#   bash Players/tests/run.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "players tests: chromium/chromium-driver missing (apt-get install -y chromium chromium-driver)" >&2
    exit 1
  fi
fi
python3 -c "import selenium, pytest" 2>/dev/null || python3 -m pip install -q selenium pytest
exec python3 -m pytest -q "$@" .
