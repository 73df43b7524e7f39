"""API tokens: who may call the JSON API, stored as hashes."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now=None):
        """Tokens that authenticate: neither revoked nor past their expiry."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A bearer token for the JSON API, acting with its owner's permissions.

    Only the SHA-256 of the secret is stored: the secret is shown once, when the token is
    created, and cannot be recovered. A leaked database therefore leaks no usable token. The
    prefix (the secret's first characters) tells tokens apart in lists without revealing them.
    """

    PREFIX_LENGTH = 8

    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'nightly cron'.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Leave empty for a token that does not expire."
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def set_new_secret(self) -> str:
        """Give the token a fresh random secret; return it (the only time it is known)."""
        secret = secrets.token_urlsafe(32)
        self.prefix = secret[: self.PREFIX_LENGTH]
        self.token_hash = self.hash_secret(secret)
        return secret

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"
