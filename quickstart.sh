#!/usr/bin/env bash
# One command for a new user: install, migrate, collect the static files, create an admin user if
# none exists, create the schedules, and run the ETF list sync on the embedded default (SQLite +
# django-q2 ORM broker).
# Set DATABASE_URL / REDIS_URL first to use PostgreSQL / Redis instead.
# --no-sync: everything but the sync (offline, before pointing the sources at a local server:
# docs/operations.md#offline-use-pointing-the-sources-elsewhere); other arguments go to the sync.
set -euo pipefail
cd "$(dirname "$0")"
sync=1
if [ "${1:-}" = "--no-sync" ]; then
  sync=0
  shift
fi

# Python 3.11 to 3.13 (pyproject.toml's requires-python): python3 if it is one, else the first
# of python3.13, python3.12, python3.11 found.
if [ ! -x .venv/bin/python ]; then
  python=""
  for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c \
      'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; then
      python="$candidate"
      break
    fi
  done
  if [ -z "$python" ]; then
    found="$(python3 --version 2>&1 || true)"
    echo "etfsync needs Python 3.11, 3.12 or 3.13 (python3: ${found:-not found}); install one and run ./quickstart.sh again" >&2
    exit 1
  fi
  "$python" -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt

# A random SECRET_KEY, written into .env once (with DEBUG off etfsync refuses the public default).
if ! grep -qs '^SECRET_KEY=' .env; then
  echo "SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')" >> .env
fi

.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py collectstatic --no-input -v 0
.venv/bin/python manage.py ensure_admin
.venv/bin/python manage.py setup_schedules
if [ "$sync" = 1 ]; then
  .venv/bin/python manage.py sync_etf_lists "$@"
fi
echo "Next: .venv/bin/python manage.py serve   (the admin at http://127.0.0.1:8000/admin/ and the workers; Ctrl-C stops both)"
