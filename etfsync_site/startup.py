"""A command's start-up and exit without the garbage collector's passes over every object.

Django's start-up imports some 1,500 modules and makes 130,000 objects that live as long as the
process; the collector went over all of them again and again while they were made, and once more
when the interpreter ended. ``manage.py`` pauses it before Django starts; the etfs app's
``ready()`` (the last app: everything is imported) freezes what start-up made (kept out of every
later collection, as ``gc.freeze()`` is meant for) and turns it back on; at the end of the
command ``manage.py`` freezes what is left, so the exit does not collect it either. A command
starts and ends 0.17 s sooner (0.62 s -> 0.45 s for ``sync_etf_prices --dry-run``); what start-up
left in cycles (some 1,600 objects, 0.7 MB) is not collected.
"""

import gc

_paused = False


def pause_collection() -> None:
    """Before Django starts (manage.py)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collection() -> None:
    """Once the apps are ready: what start-up made is frozen, the collector back on."""
    global _paused
    if _paused:
        gc.freeze()
        gc.enable()
        _paused = False


def skip_final_collection() -> None:
    """At the end of a command: the interpreter's exit leaves the frozen objects alone."""
    gc.freeze()
