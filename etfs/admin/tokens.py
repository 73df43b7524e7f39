"""API tokens: made and revoked here, shown once."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import format_html

from etfs.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens: the secret is made on save and shown once, in a message; revoke by action.

    A token acts with its owner's permissions, so anyone but a superuser sees and makes only
    tokens of their own: choosing another owner would lend oneself that owner's permissions.
    """

    list_display = (
        "name",
        "prefix_display",
        "owner",
        "state",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_select_related = ("owner",)
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "expires_at")
    search_fields = ("name", "prefix", "owner__username")
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "owner", "expires_at")
        return ("name", "owner", "prefix", "expires_at", "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        fixed = ("owner", "prefix", "created_at", "last_used_at", "revoked_at")
        # An owner who could clear the expiry would revive an expired token: once made, a
        # token's expiry is fixed (revoke it and make a new one); only superusers change it.
        return fixed if request.user.is_superuser else (*fixed, "expires_at")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(owner=request.user)

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner" and not request.user.is_superuser:
            kwargs["queryset"] = get_user_model()._default_manager.filter(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        secret = None if change else obj.set_new_secret()
        super().save_model(request, obj, form, change)
        if secret is not None:
            self.message_user(
                request,
                format_html(
                    "The token for “{}” is <code>{}</code>. Copy it now: it is stored only as a "
                    "hash and will not be shown again.",
                    obj.name,
                    secret,
                ),
                messages.SUCCESS,
            )

    @admin.display(description="token")
    def prefix_display(self, obj):
        return f"{obj.prefix}…"

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s); they no longer authenticate.")
