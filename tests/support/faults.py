"""Faults to inject into an in-process system (tests/support/system.System).

- `store_faults`: the store raises transient errors (pymongo's AutoReconnect,
  what a replica-set election or a dropped connection gives), some before the
  operation and some after it took effect: the caller cannot tell which, as
  with a real network error, and must retry without a second effect.
- `kill_mid_batch`: a service dies between the effect of a batch and its
  acknowledgement (the worst moment: the broker delivers the batch again).
"""
from __future__ import annotations

import random
import threading
import time
from contextlib import contextmanager

from pymongo.errors import AutoReconnect

WRITES = ("insert_one", "insert_many", "update_one", "update_many", "replace_one", "bulk_write",
          "find_one_and_update", "delete_one", "delete_many")
READS = ("find", "find_one", "count_documents")


class StoreFaults:
    def __init__(self, probability: float, seed: int):
        self.probability = probability
        self.rng = random.Random(seed)
        self.active = False
        self.raised_before = 0
        self.raised_after = 0
        self._depth = threading.local()     # only the outermost call fails (mongomock calls itself)

    def wrap(self, name: str, original):
        faults = self

        def method(collection, *args, **kwargs):
            depth = getattr(faults._depth, "n", 0)
            if not faults.active or depth:
                return original(collection, *args, **kwargs)
            roll = faults.rng.random()
            if roll < faults.probability / 2:
                faults.raised_before += 1
                raise AutoReconnect(f"injected: connection lost before {name}")
            faults._depth.n = depth + 1
            try:
                result = original(collection, *args, **kwargs)
            finally:
                faults._depth.n = depth
            if roll < faults.probability and name in WRITES:
                faults.raised_after += 1
                raise AutoReconnect(f"injected: connection lost after {name} (it was applied)")
            return result
        method.__name__ = name
        return method


def _collection_classes():
    import mongomock.collection
    import pymongo.collection
    return (mongomock.collection.Collection, pymongo.collection.Collection)


@contextmanager
def store_faults(probability: float = 0.1, seed: int = 5):
    """Patch the store's collection classes (embedded and MongoDB) while the
    block runs; `.active` switches the faults on and off inside it."""
    faults = StoreFaults(probability, seed)
    saved = []
    for cls in _collection_classes():
        for name in WRITES + READS:
            original = cls.__dict__.get(name)
            if original is not None:
                saved.append((cls, name, original))
                setattr(cls, name, faults.wrap(name, original))
    try:
        yield faults
    finally:
        faults.active = False
        for cls, name, original in saved:
            setattr(cls, name, original)


def batch_consumer(container, queue: str):
    return next(ext.consumer for ext in container.entrypoints
                if hasattr(ext, "consumer") and ext.consumer.sub.queue == queue)


def kill_mid_batch(system, name: str, queue: str, timeout: float = 30.0) -> int:
    """Kill service `name` (nameko's container.kill: its threads die where they
    are, nothing is acknowledged, its connections drop) right after a batch of
    `queue` took effect and before it was acked; start it again. Returns the
    size of the batch that was caught."""
    container = system.containers[name]
    consumer = batch_consumer(container, queue)
    caught = threading.Event()
    sizes = []
    original = consumer.process

    def process_then_wait(batch):
        original(batch)             # the effects are written
        sizes.append(len(batch))
        caught.set()
        time.sleep(30)              # the ack would come after this: it never does

    consumer.process = process_then_wait
    if not caught.wait(timeout):
        consumer.process = original
        raise AssertionError(f"no batch of {queue} arrived within {timeout}s")
    system.containers.pop(name).kill()
    system.start(name)
    return sizes[0]
