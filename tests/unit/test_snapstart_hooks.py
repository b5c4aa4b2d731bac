"""SnapStart's hooks (magiclink/snapstart.py): registered by importing the layer; before the snapshot the
clients are made (nothing is called, no secret read), after a restore `random` is seeded afresh."""

from __future__ import annotations

import random

from snapshot_restore_py import get_after_restore, get_before_snapshot
from support import reset_caches

from magiclink import credentials, snapstart, store


def test_importing_the_layer_registers_the_hooks():
    assert (snapstart.warm_clients, (), {}) in get_before_snapshot()
    assert (snapstart.reseed, (), {}) in get_after_restore()


def test_before_the_snapshot_the_clients_are_made_and_nothing_is_called(aws, aws_calls):
    reset_caches()
    snapstart.warm_clients()
    assert store.dynamo.client.cache_info().currsize == 1
    assert credentials._provider.cache_info().currsize == 1
    assert credentials._provider().store == {}  # no secret in a snapshot
    assert sum(aws_calls.values()) == 0


def test_after_a_restore_random_is_seeded_afresh():
    random.seed(15)
    from_snapshot = random.random()
    random.seed(15)
    snapstart.reseed()
    assert random.random() != from_snapshot
