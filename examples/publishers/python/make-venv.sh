#!/usr/bin/env bash
# Creates (or refreshes) .venv here with requirements.txt from PyPI, using
# Debian's python3 (python3-venv). Re-installs only when requirements.txt changed.
#
#   examples/publishers/python/make-venv.sh    then: .venv/bin/python publish.py …
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
stamp="$venv/requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi
echo "make-venv: installing $(grep -v '^#' "$here/requirements.txt" | xargs) into ${venv}" >&2
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
echo "$want" > "$stamp"
