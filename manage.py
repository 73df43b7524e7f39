#!/usr/bin/env python
import os
import sys


def main():
    from etfsync_site.startup import pause_collection, skip_final_collection

    pause_collection()  # until the apps are ready (etfs/apps.py)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etfsync_site.settings")
    from django.core.management import execute_from_command_line

    from etfs.apps import InsecureSecretKey

    try:
        execute_from_command_line(sys.argv)
    except InsecureSecretKey as exc:
        sys.exit(f"etfsync refuses to start: {exc}")
    skip_final_collection()


if __name__ == "__main__":
    main()
