"""Create, list and revoke API tokens from the command line, as the admin's token page does."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from etfs.models import ApiToken


class Command(BaseCommand):
    help = (
        "API tokens: `create USER NAME` prints the new secret once; `revoke PREFIX` revokes "
        "the token (by its prefix or id); `list` shows them without secrets."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a token acting as USER.")
        create.add_argument("username", metavar="USER", help="The owner; the token has its rights.")
        create.add_argument("name", metavar="NAME", help="What the token is for ('nightly cron').")
        create.add_argument(
            "--expires-in-days", type=int, metavar="DAYS", help="Expire after DAYS days."
        )
        revoke = actions.add_parser("revoke", help="Revoke a token: it stops working at once.")
        revoke.add_argument("token", metavar="PREFIX", help="The token's prefix (or its id).")
        actions.add_parser("list", help="The tokens, newest first, without their secrets.")

    def handle(self, *args, action: str, **options):
        getattr(self, action)(**options)

    def create(self, *, username: str, name: str, expires_in_days: int | None, **options):
        owner = get_user_model().objects.filter(username=username).first()
        if owner is None:
            raise CommandError(f"there is no user {username!r}")
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1")
        token = ApiToken(name=name[:100], owner=owner)
        if expires_in_days:
            token.expires_at = timezone.now() + dt.timedelta(days=expires_in_days)
        secret = token.set_new_secret()
        token.save()
        self.stdout.write(f"created token #{token.pk} {token.name!r} for {owner.get_username()}")
        self.stdout.write("its secret, shown this once (send it as Authorization: Bearer ...):")
        self.stdout.write(secret)

    def revoke(self, *, token: str, **options):
        matches = ApiToken.objects.filter(prefix=token)
        if token.isdigit():
            matches = matches | ApiToken.objects.filter(pk=int(token))
        found = list(matches)
        if not found:
            raise CommandError(f"there is no token {token!r}")
        if len(found) > 1:
            raise CommandError(f"{len(found)} tokens match {token!r}; give the id")
        [chosen] = found
        if chosen.revoked_at:
            self.stdout.write(f"token #{chosen.pk} {chosen.name!r} was revoked already")
            return
        chosen.revoked_at = timezone.now()
        chosen.save(update_fields=["revoked_at"])
        self.stdout.write(f"revoked token #{chosen.pk} {chosen.name!r} ({chosen.prefix}…)")

    def list(self, **options):
        for token in ApiToken.objects.select_related("owner"):
            expires = f", expires {token.expires_at:%Y-%m-%d}" if token.expires_at else ""
            self.stdout.write(
                f"#{token.pk} {token.prefix}… {token.name!r} of {token.owner.get_username()}: "
                f"{token.state}{expires}"
            )
