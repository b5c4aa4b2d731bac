"""Warm overhead: per operation, the handler invoked in-process against moto in server mode, against
bench/bare.py making the same DynamoDB/SES calls with a bare boto3 client and no framework.

Both are warmed up first (clients made, secrets cached, templates compiled), then called alternately,
one request each, on fresh inputs: a new email per invite, an unspent token per authentication, a
pending invite per revoke. Tokens and pending invites are made by the service for both sides, and the
baseline's invites copy the service's item shape, so both sides touch the same kind of item. moto
runs in a process of its own. Inputs are made in batches of 25 and the table is emptied after each
batch (see common.wipe_table: moto's transactions slow down as its table grows).

Every request is also split into time inside botocore API calls (a wrapper around _make_api_call,
present for both sides) and the rest, Python; the latter, scaled to a 512 MB Lambda's CPU share, feeds
the duration estimate of the cost sheet. Log and metric output per request (CloudWatch Logs
ingestion) is counted when stdout is a file, as bench/run.py makes it.
"""

from __future__ import annotations

import os
import sys
import time
from stat import S_ISREG
from typing import Any

from .common import (
    OPERATIONS,
    Inputs,
    LambdaContext,
    Row,
    api_event,
    expect_ok,
    invite_body,
    median,
    moto_server,
    percentile,
    progress,
    section_main,
    use_local_aws,
    wipe_table,
)

TARGET = 1.3
BATCH = 25


class AwsTimer:
    """Sums the wall time spent inside botocore API calls (serialization, HTTP, parsing)."""

    def __init__(self) -> None:
        import botocore.client

        self.total = 0
        original = botocore.client.BaseClient._make_api_call
        timer = self

        def timed(client: Any, operation_name: str, api_params: dict) -> Any:
            start = time.perf_counter_ns()
            try:
                return original(client, operation_name, api_params)
            finally:
                timer.total += time.perf_counter_ns() - start

        botocore.client.BaseClient._make_api_call = timed


def _stdout_size() -> int | None:
    """Bytes written to stdout so far, when it is a regular file."""
    sys.stdout.flush()
    try:
        stat = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError):
        return None
    return stat.st_size if S_ISREG(stat.st_mode) else None


def run(args) -> tuple[list[Row], dict]:
    from local import stack
    from local.cfn import Template

    from .bare import Bare

    n, warmup = (50, 5) if args.quick else (150, 20)
    info: dict[str, Any] = {"requests_per_side": n, "warmup": warmup, "batch": BATCH}
    rows = []
    timer = AwsTimer()
    with moto_server() as endpoint:
        use_local_aws(endpoint)
        functions = stack.Functions(Template())
        inputs = Inputs(functions, "warm")
        bare = Bare(shape=inputs.shape())

        def events(operation: str, k: int) -> list[dict]:
            if operation == "invite":
                return [api_event("invite", invite_body(inputs.email())) for _ in range(k)]
            if operation == "authenticate":
                return [api_event("authenticate", {"token": inputs.pending()[1]}) for _ in range(k)]
            return [api_event("revoke_invite", {"email": inputs.pending()[0]}) for _ in range(k)]

        for operation, logical_id in OPERATIONS.items():
            handler = functions.handler(logical_id)
            samples: dict[str, dict[str, list[float]]] = {s: {"total": [], "aws": []} for s in ("svc", "bare")}
            log_bytes: list[int] = []
            progress(f"warm: {operation}: {warmup} warm-up and {n} timed requests each, alternating")
            done = 0
            while done < warmup + n:
                k = min(BATCH, warmup + n - done)
                prepared = {side: events(operation, k) for side in ("svc", "bare")}
                for j in range(k):
                    i = done + j
                    for side in ("svc", "bare") if i % 2 else ("bare", "svc"):
                        event, context = prepared[side][j], LambdaContext(logical_id)
                        before = _stdout_size() if side == "svc" else None
                        timer.total = 0
                        start = time.perf_counter_ns()
                        response = handler(event, context) if side == "svc" else bare.handle(operation, event)
                        elapsed = time.perf_counter_ns() - start
                        aws = timer.total
                        expect_ok(response, f"{operation} ({side})")
                        if i < warmup:
                            continue
                        samples[side]["total"].append(elapsed / 1e6)
                        samples[side]["aws"].append(aws / 1e6)
                        after = _stdout_size() if side == "svc" else None
                        if before is not None and after is not None:
                            log_bytes.append(after - before)
                done += k
                wipe_table()
            python = {s: [t - a for t, a in zip(v["total"], v["aws"], strict=True)] for s, v in samples.items()}
            rows.append(
                Row(
                    "warm",
                    f"{operation} (median)",
                    "ms",
                    median(samples["bare"]["total"]),
                    median(samples["svc"]["total"]),
                    max_ratio=TARGET,
                    note=f"{n} requests each; handler in-process, moto in server mode",
                    extra={
                        "p90_ms": {s: round(percentile(v["total"], 90), 2) for s, v in samples.items()},
                        "aws_ms_median": {s: round(median(v["aws"]), 2) for s, v in samples.items()},
                        "python_ms_median": {s: round(median(v), 3) for s, v in python.items()},
                        "log_bytes_per_request": median(log_bytes) if log_bytes else None,
                    },
                )
            )
    return rows, info


if __name__ == "__main__":
    section_main("warm", run)
