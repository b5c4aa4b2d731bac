"""moto in server mode, without its instance tracking: `python -m bench.motoserver [moto.server's arguments]`.

moto appends every model object it creates to a list on its class, for its dashboard, and never lets go
of them: every DynamoDB item ever written, and every copy of a whole table that TransactWriteItems makes
(to roll back a failed one). Over a benchmark the moto process then holds millions of objects, and each
full garbage collection stops it for longer: in the load benchmark (2000 invites, each two transactions
since the rate limits) a collection took up to 7.5 s, past the service's 5 s DynamoDB read timeout. The
retried transaction then found the rate-limit counter it had already counted (moto ignores the
ClientRequestToken that makes a retry idempotent on DynamoDB) and the invite was refused with 429.
The benchmarks never use the dashboard, so their moto processes don't track (`untrack`).
"""

from __future__ import annotations

import sys
from typing import Any


def untrack() -> None:
    """Stop moto from keeping every model object it creates, and drop what it has kept so far."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    BaseModel.__new__ = staticmethod(new)
    reset_model_data()


if __name__ == "__main__":
    from local.stack import sign_digests_as_kms_does

    untrack()
    sign_digests_as_kms_does()
    from moto.server import main

    main(sys.argv[1:])
