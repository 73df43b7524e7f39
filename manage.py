#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etfsync_site.settings")
    from django.core.management import execute_from_command_line

    from etfs.apps import InsecureSecretKey

    try:
        execute_from_command_line(sys.argv)
    except InsecureSecretKey as exc:
        sys.exit(f"etfsync refuses to start: {exc}")


if __name__ == "__main__":
    main()
