"""Bearer-token authentication for the JSON API (``Authorization: Bearer <token>``).

The API ignores session cookies: a token acts for its owner and nothing else, which is also why
the API needs no CSRF protection. The secret is only ever hashed, never logged or stored; it is
looked up by its SHA-256, so the time a lookup takes says nothing about how close a guess was.
"""

from __future__ import annotations

from django.utils import timezone
from ninja.security import HttpBearer

from .api_schemas import ApiError
from .models import ApiToken


class TokenAuth(HttpBearer):
    """A usable token whose owner holds one of ``permissions`` (any token if none are named).

    The permissions are the owner's at each request, so taking one away from the user also
    takes it from their tokens.
    """

    def __init__(self, *permissions: str):
        super().__init__()
        self.permissions = permissions

    def __call__(self, request) -> ApiToken:
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != self.openapi_scheme or not secret.strip():
            raise refused("send the header Authorization: Bearer <token>")
        token = self.authenticate(request, secret.strip())
        if self.permissions and not any(map(token.owner.has_perm, self.permissions)):
            needed = " or ".join(self.permissions)
            raise ApiError(403, f"the token's owner needs {needed}")
        return token

    def authenticate(self, request, token: str) -> ApiToken:
        """The token with this secret and its owner, if usable; its last-used time is updated."""
        found = (
            ApiToken.objects.select_related("owner")
            .filter(token_hash=ApiToken.hash_secret(token))
            .first()
        )
        now = timezone.now()
        if found is None:
            raise refused("the token is not valid")
        if found.revoked_at is not None:
            raise refused("the token has been revoked")
        if found.expires_at is not None and found.expires_at <= now:
            raise refused("the token has expired")
        if not found.owner.is_active:
            raise refused("the token's owner is not active")
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        found.last_used_at = now
        return found


def refused(message: str) -> ApiError:
    return ApiError(401, message)
