"""Admin pages of data a sync owns: visible to anyone who may view it, written only by syncs."""

from __future__ import annotations


class SyncedDataAdmin:
    """Mixin for a ModelAdmin whose rows only a sync may add, change or delete.

    A hand edit would be overwritten by the next sync (or, for bars, silently diverge from the
    source until it is), and a deleted security takes its history with it. The pages stay
    readable with the model's view permission; what a person owns (tokens, schedules,
    cooldowns) keeps its ordinary admin.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
