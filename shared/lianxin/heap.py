"""Garbage-collector settings for services that hold large in-memory read models.

A service's read models (and, on the embedded store, its documents) are
millions of long-lived objects. CPython's full collections walk all of them:
in the bench, 120-270 ms pauses of the whole process (every greenthread
stops), which set the p99 latency, and whose length grows with the data. The
objects that survive a full collection are long-lived by then, so they are
frozen (`gc.freeze`: moved to the permanent generation, never scanned
again), and the next full collection walks only what arrived since. The
cost is that a reference cycle among frozen objects is never reclaimed;
acyclic garbage is still freed at once by reference counting, and read
models do not form cycles they later drop.
"""
from __future__ import annotations

import gc
import logging

log = logging.getLogger("lianxin.heap")

# CPython's defaults: larger young generations made single pauses longer
# (a generation-1 collection of 100,000 objects took ~50 ms in the bench).
THRESHOLDS = (700, 10, 10)


def _freeze_survivors(phase: str, info: dict) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


def keep_long_lived_objects_out_of_collections() -> None:
    """Idempotent, once per process (services call it at start)."""
    if _freeze_survivors in gc.callbacks:
        return
    gc.set_threshold(*THRESHOLDS)
    gc.callbacks.append(_freeze_survivors)
    gc.collect()        # what start-up built (a rebuilt read model) is frozen now
    log.debug("gc: thresholds %s, survivors of full collections frozen", THRESHOLDS)


def settle() -> None:
    """After building a large long-lived structure at once (a read model
    rebuilt from the store): collect now and freeze what survives, so the
    first full collection afterwards does not walk all of it mid-traffic."""
    gc.collect()
    gc.freeze()
