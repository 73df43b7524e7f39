"""Bearer-token authentication for the JSON API (``Authorization: Bearer <token>``).

The API ignores session cookies: a token acts for its owner and nothing else, which is also why
the API views need no CSRF protection. The secret is only ever hashed, never logged or stored.
"""

from __future__ import annotations

from django.utils import timezone

from .models import ApiToken


class TokenRefused(Exception):
    """No token, or one that does not authenticate; the message says which, for the caller."""


def authenticate_bearer(request) -> ApiToken:
    """The usable token the request carries, with its owner; its last-used time is updated."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise TokenRefused("send the header Authorization: Bearer <token>")
    token = (
        ApiToken.objects.select_related("owner")
        .filter(token_hash=ApiToken.hash_secret(secret))
        .first()
    )
    if token is None:
        raise TokenRefused("the token is not valid")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenRefused("the token has been revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused("the token has expired")
    if not token.owner.is_active:
        raise TokenRefused("the token's owner is not active")
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    return token


def has_any_permission(token: ApiToken, permissions: tuple[str, ...]) -> bool:
    return any(token.owner.has_perm(permission) for permission in permissions)
