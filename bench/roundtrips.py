"""Round trips: the DynamoDB, SES and Secrets Manager calls each operation makes, counted with botocore's hooks.

Every client created in the measuring process gets a `before-call` handler (one per API call) and a
`before-send` handler (one per HTTP attempt, so retries would show), whichever session made it: the
layer's boto3 default session and the private session powertools' SecretsProvider builds alike.

Each operation runs in a fresh process of its own, twice: first cold (the secrets are read then), then
warm; the warm request is the one held to the targets. Inputs (tokens, pending invites) are made
beforehand by this process, so the measuring process has done nothing before its cold request.
bench/bare.py is counted the same way, as the baseline. Item sizes are read back afterwards to turn
the calls into DynamoDB capacity units for the cost sheet (bench/cost.py).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from .common import (
    OPERATIONS,
    PY,
    ROOT,
    Inputs,
    Row,
    api_event,
    clean_env,
    expect_ok,
    function_env,
    function_services,
    invite_body,
    moto_server,
    progress,
    schedule_event,
    section_main,
    use_local_aws,
)

# (operation scenario, service) -> at most this many calls, as the issue stated them. Every "invite ..." row
# is held to the invite target: a new email meets it (one transaction, then the delivery mark after SES),
# an email that is taken does not (the refused claim, then the rate-limit transaction before the reissue);
# docs/benchmarks.md says why.
TARGETS = {
    ("authenticate", "dynamodb"): 1,
    ("invite", "dynamodb"): 2,
    ("invite", "sesv2"): 1,
    ("revoke_invite", "dynamodb"): 3,
}


# --- the measuring process ----------------------------------------------------------------------


def _item_kind(request: dict) -> str:
    """What a write touches, from its key: USER (a reader), EMAIL (a pointer), RATE (a rate-limit counter)..."""
    key = request.get("Key") or request.get("Item") or {}
    return key.get("pk", {}).get("S", "").split("#", 1)[0]


def install_counter() -> list[dict]:
    """Record every API call and HTTP attempt of every botocore client created from now on."""
    import botocore.session

    calls: list[dict] = []
    original = botocore.session.Session.create_client

    api_params: dict = {}

    def on_params(params: dict, **_: Any) -> None:
        api_params["last"] = params  # the call's own parameters (before-call only sees the serialized request)

    def on_call(event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        params = api_params.pop("last", {})
        entry = {"kind": "call", "service": service, "operation": operation}
        if operation == "TransactWriteItems":
            entry["items"] = len(params.get("TransactItems", []))
            entry["kinds"] = [_item_kind(next(iter(action.values()))) for action in params.get("TransactItems", [])]
        elif "Key" in params or "Item" in params:
            entry["kinds"] = [_item_kind(params)]
        if "UpdateExpression" in params:
            entry["update"] = params["UpdateExpression"]
        calls.append(entry)

    def on_send(event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        calls.append({"kind": "send", "service": service, "operation": operation})

    def create_client(self, *args: Any, **kwargs: Any):
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-parameter-build", on_params)
        client.meta.events.register("before-call", on_call)
        client.meta.events.register("before-send", on_send)
        return client

    botocore.session.Session.create_client = create_client
    return calls


def child(jobs_file: str, out_file: str) -> None:
    calls = install_counter()
    jobs = json.loads(Path(jobs_file).read_text())
    results = []
    functions = bare = None
    for job in jobs:
        start = len(calls)
        if job["target"] == "service":
            if functions is None:
                from local import stack
                from local.cfn import Template

                functions = stack.Functions(Template())
            response = functions.invoke(job["function"], job["event"])
        else:
            if bare is None:
                sys.path.insert(0, str(ROOT))
                from bench.bare import Bare

                bare = Bare(job["services"], job["shape"])
            response = bare.handle(job["operation"], job["event"])
        status = response.get("statusCode", 200) if isinstance(response, dict) else None
        results.append({"label": job["label"], "status": status, "calls": calls[start:]})
    Path(out_file).write_text(json.dumps(results))


# --- the section --------------------------------------------------------------------------------


def _counts(calls: list[dict], kind: str = "call") -> dict[str, int]:
    return dict(Counter(c["service"] for c in calls if c["kind"] == kind))


def _run_child(jobs: list[dict], endpoint: str, tmp: Path) -> dict[str, dict]:
    jobs_file, out_file = tmp / f"{uuid.uuid4().hex}.jobs.json", tmp / f"{uuid.uuid4().hex}.out.json"
    jobs_file.write_text(json.dumps(jobs))
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [PY, "-m", "bench.roundtrips", "child", str(jobs_file), str(out_file)],
        cwd=ROOT,
        env=clean_env() | function_env(endpoint),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"round-trip child failed:\n{done.stderr[-3000:]}")
    results = {r["label"]: r for r in json.loads(out_file.read_text())}
    for label, result in results.items():
        if result["status"] != 200:
            raise RuntimeError(f"round trips: {label} answered {result['status']}")
    return results


def item_size(item: dict) -> int:
    """DynamoDB's item size: attribute names plus values (numbers approximated as digits/2 + 1 bytes)."""

    def value_size(value: dict) -> int:
        ((kind, v),) = value.items()
        if kind == "S":
            return len(v.encode())
        if kind == "N":
            return math.ceil(len(v.lstrip("-").replace(".", "")) / 2) + 1
        if kind == "B":
            return len(v)
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + value_size(x) + 1 for k, x in v.items())
        if kind == "L":
            return 3 + sum(value_size(x) + 1 for x in v)
        if kind in ("SS", "NS", "BS"):
            return sum(len(str(x)) for x in v)
        return 0

    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def capacity(calls: list[dict], sizes: dict[str, int], reader_gsi_wru: int = 0) -> dict[str, float]:
    """On-demand request units for one operation's DynamoDB calls, given the item sizes it touches.

    GetItem (strongly consistent): 1 RRU per 4 KB; Query (eventually consistent): 0.5 RRU per 4 KB, at least 0.5;
    PutItem/UpdateItem/DeleteItem: 1 WRU per 1 KB of the larger of the item before and after;
    TransactWriteItems: 2 WRU per 1 KB per item. Every write of a reader also writes the indexes a reader
    item is in (`reader_gsi_wru`), and an update that sets or removes expiry_bucket writes by_expiry (1 WRU).
    A rate-limit counter (RATE#..., well under 1 KB, in no index) costs 1 WRU, 2 in a transaction.
    Estimates: they assume writes other than counters touch the reader item and reads the email pointer,
    as the service's do.
    """
    reader, pointer = sizes["reader_max"], sizes["pointer"]
    size = {"RATE": sizes.get("counter", 100), "EMAIL": pointer}
    rru = wru = 0.0
    for call in calls:
        if call["kind"] != "call" or call["service"] != "dynamodb":
            continue
        op = call["operation"]
        kinds = call.get("kinds") or ["USER"]
        if op == "GetItem":
            rru += math.ceil(pointer / 4096)
        elif op == "Query":
            rru += 0.5
        elif op in ("PutItem", "UpdateItem", "DeleteItem") and kinds[0] == "RATE":
            wru += math.ceil(size["RATE"] / 1024)
        elif op in ("PutItem", "UpdateItem", "DeleteItem"):
            wru += math.ceil(reader / 1024) + reader_gsi_wru
            wru += 1 if "expiry_bucket" in call.get("update", "") else 0
        elif op == "TransactWriteItems":
            for kind in kinds:
                wru += 2 * math.ceil(size.get(kind, reader) / 1024)
                wru += reader_gsi_wru if kind not in size else 0
    return {"rru": rru, "wru": wru}


def reader_indexes(template, reader: dict) -> dict[str, int]:
    """The table's global secondary indexes a stored reader item is in, and the WRU one write of it costs there."""
    tables = template.of_type("AWS::DynamoDB::Table")
    indexes = {}
    for table in tables.values():
        for gsi in table["Properties"].get("GlobalSecondaryIndexes", []):
            keys = [k["AttributeName"] for k in gsi["KeySchema"]]
            if all(k in reader for k in keys):
                projected = item_size(reader) if gsi["Projection"]["ProjectionType"] == "ALL" else 1024
                indexes[gsi["IndexName"]] = math.ceil(projected / 1024)
    return indexes


def run(args) -> tuple[list[Row], dict]:
    from local import stack
    from local.cfn import Template

    info: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-rt-") as tmp, moto_server() as endpoint:
        use_local_aws(endpoint)
        functions = stack.Functions(Template())
        inputs = Inputs(functions, "rt-svc")
        shape = inputs.shape()

        progress("round trips: preparing tokens and pending invites")
        reinvite, _ = inputs.pending()
        renew, _ = inputs.pending()
        issued_at = time.time()  # a second link for these two emails must wait a second (limits.EMAIL_SPACING)
        expect_ok(functions.invoke("RevokeFunction", api_event("revoke_invite", {"email": renew})), "revoke (setup)")

        def jobs(who: str) -> dict[str, list[dict]]:
            target = "bare" if who == "bare" else "service"

            def job(label: str, operation: str, event: dict) -> dict:
                fn = OPERATIONS.get(operation, "CleanupFunction")
                services = function_services(fn)
                return {"label": label, "target": target, "function": fn, "operation": operation, "event": event,
                        "services": services, "shape": shape}  # fmt: skip

            def invite(label: str, address: str) -> dict:
                return job(label, "invite", api_event("invite", invite_body(address)))

            tokens = [inputs.pending()[1] for _ in range(2)]
            emails = [inputs.pending()[0] for _ in range(2)]
            plan = {
                "invite": [invite("invite cold", inputs.email()), invite("invite", inputs.email())],
                "authenticate": [
                    job(label, "authenticate", api_event("authenticate", {"token": token}))
                    for label, token in zip(("authenticate cold", "authenticate"), tokens, strict=True)
                ],
                "revoke_invite": [
                    job(label, "revoke_invite", api_event("revoke_invite", {"email": address}))
                    for label, address in zip(("revoke_invite cold", "revoke_invite"), emails, strict=True)
                ],
                "cleanup": [job(label, "cleanup", schedule_event()) for label in ("cleanup cold", "cleanup")],
            }
            if who == "svc":
                plan["invite"] += [
                    invite("invite, re-invite pending", reinvite),
                    invite("invite, renew revoked", renew),
                ]
            return plan

        measured: dict[str, dict] = {}
        baseline: dict[str, dict] = {}
        for who, into in (("svc", measured), ("bare", baseline)):
            for operation, planned in jobs(who).items():
                progress(f"round trips: {who} {operation}")
                time.sleep(max(0.0, issued_at + 1.05 - time.time()))
                into.update(_run_child(planned, endpoint, Path(tmp)))

        # Item sizes, from what the service stored (the benchmark may scan; the service never does).
        ddb = __import__("boto3").client("dynamodb")
        items, kwargs = [], {"TableName": stack.local_names()["Table"]}
        while True:
            page = ddb.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        svc = [i for i in items if "rt-svc-" in i.get("email", {}).get("S", "") or "rt-svc-" in i["pk"]["S"]]
        readers = [item_size(i) for i in svc if i["pk"]["S"].startswith("USER#")]
        pointers = [item_size(i) for i in svc if i["pk"]["S"].startswith("EMAIL#")]
        counters = [item_size(i) for i in svc if i["pk"]["S"].startswith("RATE#email#")]
        sizes = {"reader_max": max(readers), "reader_min": min(readers), "pointer": max(pointers)}
        sizes["counter"] = max(counters)
        info["item_sizes_bytes"] = sizes
        largest = max((i for i in svc if i["pk"]["S"].startswith("USER#")), key=item_size)
        info["reader_indexes"] = reader_indexes(Template(), largest)
        gsi_wru = sum(info["reader_indexes"].values())

    rows = []
    info["calls"] = {}
    for label, result in measured.items():
        base = baseline.get(label)
        counts, sends = _counts(result["calls"]), _counts(result["calls"], "send")
        base_counts = _counts(base["calls"]) if base else {}
        units = capacity(result["calls"], sizes, gsi_wru)
        info["calls"][label] = {
            "calls": counts,
            "http_attempts": sends,
            "operations": [f"{c['service']}:{c['operation']}" for c in result["calls"] if c["kind"] == "call"],
            "baseline_calls": base_counts,
            "units": units,
            "baseline_units": capacity(base["calls"], sizes, gsi_wru) if base else None,
        }
        scenario = label.split(",")[0].split(" ")[0]
        if label.endswith("cold") or scenario == "cleanup":
            continue  # reported in info and in the table below as calls, no targets
        for service in ("dynamodb", "sesv2"):
            limit = TARGETS.get((scenario, service))
            if limit is None and not counts.get(service):
                continue
            attempts = sends.get(service, 0)
            retried = f"; {attempts} HTTP attempts (retries)" if attempts != counts.get(service, 0) else ""
            rows.append(
                Row(
                    "round trips",
                    f"{label}: {'DynamoDB' if service == 'dynamodb' else 'SES'} calls",
                    "calls",
                    float(base_counts.get(service, 0)) if base else None,
                    float(counts.get(service, 0)),
                    max_value=limit,
                    note="warm request; baseline: bench/bare.py" + retried,
                )
            )
    for label in ("invite cold", "authenticate cold", "revoke_invite cold", "cleanup cold", "cleanup"):
        result = measured[label]
        base = baseline.get(label)
        counts = _counts(result["calls"])
        rows.append(
            Row(
                "round trips",
                f"{label}: all AWS calls",
                "calls",
                float(sum(_counts(base["calls"]).values())) if base else None,
                float(sum(counts.values())),
                note=", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
            )
        )
    info["operations"] = OPERATIONS
    return rows, info


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        section_main("roundtrips", run)
