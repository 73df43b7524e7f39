#!/usr/bin/env bash
# One command for a new user: install, migrate, collect the static files, create an admin user if
# none exists, create the schedules, and run the ETF list sync on the embedded default (SQLite +
# django-q2 ORM broker).
# Set DATABASE_URL / REDIS_URL first to use PostgreSQL / Redis instead.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
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
.venv/bin/python manage.py sync_etf_lists "$@"
