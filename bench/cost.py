"""The cost sheet: what 1 million invites plus 1 million authentications cost on AWS, from the measured
round trips (calls and DynamoDB request units) and warm timings (Python time per request).

PRICES are us-east-1 list prices as remembered when this was written, not fetched: check them (see
PRICES_AS_OF) before relying on the totals. Lambda duration is estimated, not measured on Lambda:
  the request's Python time measured locally (outside AWS calls), times the CPU share of a 512 MB
  function (Lambda gives 1 vCPU at 1769 MB, so 512 MB gets about 0.29 of one: x3.46), plus an assumed
  in-region latency per AWS call (LATENCY_MS, client-side work included), rounded up to a whole ms.
"""

from __future__ import annotations

import math
from typing import Any

PRICES_AS_OF = "mid-2025 (remembered list prices, us-east-1; check them before relying on these totals)"
PRICES = {
    "lambda_arm64_gb_second": 0.0000133334,  # first 7.5 billion GB-s a month
    "lambda_request": 0.20 / 1e6,
    "dynamodb_on_demand_wru": 0.625 / 1e6,  # after the 2024-11-01 on-demand price cut
    "dynamodb_on_demand_rru": 0.125 / 1e6,
    "dynamodb_storage_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,
    "ses_email": 0.10 / 1000,  # outbound, sent from Lambda (no EC2 free tier)
    "http_api_request": 1.00 / 1e6,  # first 300 million a month, per 512 KB
    "secret_month": 0.40,
    "secrets_api_call": 0.05 / 10_000,
    "logs_ingested_gb": 0.50,
}
MEMORY_GB = 0.5  # MemorySize 512 in template.yaml
CPU_SCALE = 1769 / 512
LATENCY_MS = {  # assumed per call, in-region, including botocore's own work on a 512 MB function
    ("dynamodb", "GetItem"): 6,
    ("dynamodb", "UpdateItem"): 8,
    ("dynamodb", "PutItem"): 8,
    ("dynamodb", "TransactWriteItems"): 15,
    ("sesv2", "SendEmail"): 60,
}
LAMBDA_PLATFORM_LOG_BYTES = 350  # START, END and REPORT lines per invocation


def latency_of(operations: list[str]) -> float:
    """The assumed in-region time (ms) of these calls ("service:Operation"), 10 ms for any not listed."""
    total = 0.0
    for op in operations:
        service, name = op.split(":")
        total += LATENCY_MS.get((service, name), 10)
    return total


def _warm(results: dict, operation: str) -> dict[str, Any]:
    for row in results.get("warm", {}).get("rows", []):
        if row["name"].startswith(f"{operation} "):
            return row["extra"] | {"total_ms": row["measured"]}
    return {}


def per_request(results: dict, operation: str) -> dict[str, Any]:
    calls = results["roundtrips"]["info"]["calls"][operation]
    warm = _warm(results, operation)
    python_ms = (warm.get("python_ms_median") or {}).get("svc")
    latency = latency_of(calls["operations"])
    duration = None if python_ms is None else math.ceil(python_ms * CPU_SCALE + latency)
    return {
        "operations": calls["operations"],
        "rru": calls["units"]["rru"],
        "wru": calls["units"]["wru"],
        "ses": calls["calls"].get("sesv2", 0),
        "python_ms": python_ms,
        "latency_ms": latency,
        "duration_ms": duration,
        "log_bytes": warm.get("log_bytes_per_request"),
    }


def sheet(results: dict) -> tuple[str, float | None]:
    """The cost sheet as Markdown, and the total in USD (None when an input is missing)."""
    if "roundtrips" not in results:
        return "(no cost sheet: the round-trip benchmark did not run)", None
    n = 1_000_000
    p = PRICES
    lines = [
        f"Prices: us-east-1, {PRICES_AS_OF}.",
        "",
        "| per request | invite | authenticate |",
        "| --- | --- | --- |",
    ]
    ops = {op: per_request(results, op) for op in ("invite", "authenticate")}
    for label, key in (
        ("AWS calls (warm)", "operations"),
        ("DynamoDB read units (RRU)", "rru"),
        ("DynamoDB write units (WRU, indexes included)", "wru"),
        ("SES emails", "ses"),
        ("Python time, measured locally (ms)", "python_ms"),
        ("assumed AWS call latency (ms)", "latency_ms"),
        ("estimated Lambda duration at 512 MB (ms)", "duration_ms"),
        ("log + metric output (bytes)", "log_bytes"),
    ):
        values = []
        for op in ops.values():
            value = op[key]
            values.append(", ".join(value) if isinstance(value, list) else "n/a" if value is None else f"{value:g}")
        lines.append(f"| {label} | {values[0]} | {values[1]} |")
    missing = any(op["duration_ms"] is None for op in ops.values())
    duration_gb_s = sum((op["duration_ms"] or 0) / 1000 * MEMORY_GB * n for op in ops.values())
    log_gb = sum(((op["log_bytes"] or 0) + LAMBDA_PLATFORM_LOG_BYTES) * n for op in ops.values()) / 1024**3
    items = [
        ("Lambda requests (2M)", 2 * n * p["lambda_request"]),
        (f"Lambda duration, arm64 ({duration_gb_s:,.0f} GB-s)", duration_gb_s * p["lambda_arm64_gb_second"]),
        (
            f"DynamoDB on-demand writes ({sum(op['wru'] for op in ops.values()) * n / 1e6:g}M WRU)",
            sum(op["wru"] for op in ops.values()) * n * p["dynamodb_on_demand_wru"],
        ),
        (
            f"DynamoDB on-demand reads ({sum(op['rru'] for op in ops.values()) * n / 1e6:g}M RRU)",
            sum(op["rru"] for op in ops.values()) * n * p["dynamodb_on_demand_rru"],
        ),
        (f"SES ({ops['invite']['ses'] * n / 1e6:g}M emails)", ops["invite"]["ses"] * n * p["ses_email"]),
        ("API Gateway HTTP API (2M requests)", 2 * n * p["http_api_request"]),
    ]
    total = sum(cost for _, cost in items)
    lines += ["", "| 1M invites + 1M authentications | USD |", "| --- | ---: |"]
    lines += [f"| {label} | {cost:,.2f} |" for label, cost in items]
    lines.append(f"| **total** | **{total:,.2f}** |")
    sizes = results["roundtrips"]["info"].get("item_sizes_bytes", {})
    storage_gb = n * (2 * sizes.get("reader_max", 1024) + sizes.get("pointer", 100) + 3 * 100) / 1024**3
    lines += [
        "",
        "Not in the total (they do not scale with these requests, or were not asked for):",
        f"- CloudWatch Logs ingestion of the functions' output: about {log_gb:.2f} GB, "
        f"{log_gb * p['logs_ingested_gb']:,.2f} USD (plus storage at the log group's retention).",
        f"- DynamoDB storage for 1M readers (item, email pointer, by_email copy, ~100 B overhead each): "
        f"about {storage_gb:.1f} GB, {storage_gb * p['dynamodb_storage_gb_month']:,.2f} USD a month, "
        f"point-in-time recovery {storage_gb * p['dynamodb_pitr_gb_month']:,.2f} USD a month.",
        f"- Secrets Manager: 2 secrets, {2 * p['secret_month']:.2f} USD a month; reads only at cold start and every "
        f"5 minutes per warm container ({p['secrets_api_call'] * 10_000:.2f} USD per 10,000).",
        "- Cold starts: since 2025-08-01 Lambda bills the INIT phase too; see the cold-start rows for its length.",
        "- EMF metrics: each metric name x dimension set is a custom metric (0.30 USD a month each, first 10,000).",
    ]
    return "\n".join(lines), None if missing else total
