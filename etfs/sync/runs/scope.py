"""A run's scope: which runs must not overlap (one active top-level run per scope)."""

from __future__ import annotations

import hashlib
import json

from etfs.models import Exchange


def scope_for(kind: str, parameters: dict) -> str:
    """Runs with the same scope must not overlap; different scopes may run side by side.

    The scope stands for the whole parameter set: the kind alone for the default run, else the
    kind and a hash of the canonical parameters (a string cut at the column's length once made
    two code lists that share their first codes one scope).
    """
    canonical = canonical_parameters(parameters)
    if not canonical:
        return kind
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()}"


def canonical_parameters(parameters: dict) -> dict:
    """One spelling per parameter set: no empty values, lists as sorted sets, the default
    exchanges (both) left out."""
    canonical = {}
    for key, value in (parameters or {}).items():
        if value in (None, "", False, [], (), {}):
            continue
        if key == "exchanges":
            value = sorted({str(exchange).upper() for exchange in value})
            if value == sorted(Exchange.values):
                continue
        elif key == "codes":
            value = sorted(set(value))
        canonical[key] = value
    return canonical
