"""moto in server mode, without its instance tracking: `python -m bench.motoserver [moto.server's arguments]`.

moto keeps every model object it creates, for its dashboard (local/moto_patches.py says what that costs: in
the load benchmark, garbage-collection stalls past the service's DynamoDB timeout). The benchmarks never use
the dashboard, so their moto processes don't track (`untrack`, which the local stack uses too).
"""

from __future__ import annotations

import sys

from local.moto_patches import untrack

if __name__ == "__main__":
    from local.stack import sign_digests_as_kms_does

    untrack()
    sign_digests_as_kms_does()
    from moto.server import main

    main(sys.argv[1:])
