"""What the local stack changes in moto so that it holds a long run (`make run` under a developer's load).

moto is made for tests that last seconds, and two of its habits make a process that runs for hours grow and
slow down with every request:

- It appends every model object it creates to a list on its class, for its dashboard, and never lets go
  of them: every DynamoDB item ever written or read back, and every copy of a whole table that
  TransactWriteItems makes. The local stack grew from 154 MB to 2.7 GB over 400 invites; in the load
  benchmark a full garbage collection of those objects stopped moto for up to 7.5 s, past the service's
  5 s DynamoDB timeout, and the retried transaction was refused with 429 (docs/benchmarks.md).
  Nothing local uses the dashboard: `untrack`.
- TransactWriteItems deep-copies each table it writes, once per action, before it starts, so that it can
  put the copy back if an action fails: each transaction costs time in proportion to everything the table
  holds (an invite's took 35 ms with 200 items in the table, 150 ms with 800), and invites slow down one
  after another. `roll_back_items_not_tables` keeps the same all-or-nothing by saving only the items the
  transaction's actions name.
"""

from __future__ import annotations

import copy
from typing import Any


def apply() -> None:
    """Both changes, before moto serves its first request."""
    untrack()
    roll_back_items_not_tables()


def untrack() -> None:
    """Stop moto from keeping every model object it creates, and drop what it has kept so far."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    BaseModel.__new__ = staticmethod(new)
    reset_model_data()


def roll_back_items_not_tables() -> None:
    """TransactWriteItems saves the items its actions name, not whole tables, and puts them back if it fails."""
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    class TablesUncopied:
        """The `copy` module as moto's DynamoDB backend sees it: anything but a whole table is still copied."""

        @staticmethod
        def deepcopy(value: Any, memo: dict | None = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def saved(backend: Any, actions: list[dict[str, Any]]) -> list[tuple[Table, DynamoType, DynamoType | None, Any]]:
        items = []
        for action in actions:
            for op in action.values():
                table = backend.tables.get(op.get("TableName"))
                attrs = op.get("Item") or op.get("Key") or {}
                if table is None or table.hash_key_attr not in attrs:
                    continue  # an action moto refuses before it writes anything
                hash_key = DynamoType(attrs[table.hash_key_attr])
                range_key = None
                if table.range_key_attr is not None:
                    if table.range_key_attr not in attrs:
                        continue
                    range_key = DynamoType(attrs[table.range_key_attr])
                items.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        return items

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        before = saved(self, transact_items)
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(before):  # the first save of an item is its original
                if item is None:
                    table.delete_item(hash_key, range_key)
                elif range_key is None:
                    table.items[hash_key] = item
                else:
                    table.items[hash_key][range_key] = item
            raise

    models.copy = TablesUncopied
    models.DynamoDBBackend.transact_write_items = transact_write_items
