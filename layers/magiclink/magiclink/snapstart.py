"""Lambda SnapStart (template.yaml's SnapStart parameter): a version's INIT runs once, when it is published,
and every execution environment of that version resumes from the snapshot taken after it.

Before the snapshot: the clients every function's first request would create (DynamoDB, and the Secrets
Manager client credentials.py reads through), so a restored environment starts with them. Nothing is called:
no connection is open in a snapshot, and no secret is in one (secrets are read by the first request, and
cached for `secrets_max_age` as in any environment).
After a restore: a fresh seed for `random` (botocore's retry jitter and the store's), which would otherwise
be the same in every environment restored from one snapshot. Tokens and ids come from `secrets` and uuid4,
which read the operating system's randomness at each call and need nothing.
"""

from __future__ import annotations

import random


def warm_clients() -> None:
    from . import credentials, store

    store.dynamo.client()
    credentials._provider()


def reseed() -> None:
    random.seed()


try:
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # only Lambda's Python runtime ships it: nowhere else is anything snapshotted
    pass
else:
    register_before_snapshot(warm_clients)
    register_after_restore(reseed)
