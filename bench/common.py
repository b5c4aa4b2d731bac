"""What the benchmarks share: result rows, statistics, a moto server of their own, and API Gateway events.

Every benchmark section is a module run as its own process (`python -m bench.<section> --out FILE`) so the
functions' logs stay out of the table and no section's imports or caches leak into another's numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "magiclink"
PY = sys.executable
# Only feeds the redirect allow-list (REDIRECT_URLS); nothing listens there unless the load benchmark starts it.
BASE_URL = "http://127.0.0.1:3000"

# The functions the issue names, and which one serves each API operation.
FUNCTIONS = ("InviteFunction", "AuthenticateFunction", "RevokeFunction", "CleanupFunction")
OPERATIONS = {"invite": "InviteFunction", "authenticate": "AuthenticateFunction", "revoke_invite": "RevokeFunction"}


@dataclass
class Row:
    """One line of the results table. `max_ratio` / `max_value` are the targets; met is None without one."""

    section: str
    name: str
    unit: str
    baseline: float | None
    measured: float | None
    max_ratio: float | None = None
    max_value: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.measured is None or self.baseline == 0:
            return None
        return self.measured / self.baseline

    @property
    def target(self) -> str:
        parts = []
        if self.max_ratio is not None:
            parts.append(f"<= {self.max_ratio:g}x")
        if self.max_value is not None:
            parts.append(f"<= {self.max_value:g} {self.unit}".strip() if self.max_value else f"= 0 {self.unit}")
        return ", ".join(parts)

    @property
    def met(self) -> bool | None:
        if self.max_ratio is None and self.max_value is None:
            return None
        if self.measured is None:
            return False
        if self.max_ratio is not None and (self.ratio is None or self.ratio > self.max_ratio):
            return False
        return not (self.max_value is not None and self.measured > self.max_value)


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 2000 samples is the 1980th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that points boto3 or the functions somewhere."""
    drop = ("AWS_", "MAGICLINK_", "POWERTOOLS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return env | extra


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within {timeout}s")


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode, in a process of its own (so it never competes for the benchmark's GIL), without
    its instance tracking (see bench/motoserver.py)."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [PY, "-m", "bench.motoserver", "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process, 10)


def stop(process: subprocess.Popen, seconds: float) -> None:
    """Ask a process to end; kill it if it has not within `seconds`."""
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()


@cache
def template():
    """template.yaml, parsed once per process (local.cfn.Template)."""
    from local.cfn import Template

    return Template()


# The rate limits at the template's maxima. The benchmarks issue thousands of links an hour for one project
# (the default allows 1000), each to an email of its own; the one-a-second spacing per email, which no
# variable turns off, is respected where a benchmark issues a second link for an email (roundtrips.py).
# The requests the service makes are the same whatever the limits: only the numbers in its conditions change.
RATE_LIMITS = {
    "EMAIL_LINKS_PER_HOUR": "100000",
    "PROJECT_LINKS_PER_HOUR": "10000000",
    "IP_REQUESTS_PER_HOUR": "100000",
    "PUBLIC_EMAIL_REQUESTS_PER_HOUR": "100000",
    "PUBLIC_PROJECT_REQUESTS_PER_HOUR": "10000000",
}


def function_env(endpoint: str) -> dict[str, str]:
    """What a function sees locally: dummy credentials pointed at `endpoint`, and its template.yaml environment
    (with the rate limits raised, RATE_LIMITS)."""
    from local import stack

    env = stack.function_environment(template(), BASE_URL, RATE_LIMITS)
    unset = [k for k, v in RATE_LIMITS.items() if env.get(k) != v]
    if unset:
        raise RuntimeError(f"the template no longer sets {', '.join(unset)}: bench/common.py's RATE_LIMITS can't apply")
    return stack.aws_environment(endpoint) | env


def use_local_aws(endpoint: str) -> None:
    """Point this process at the moto server and provision the table, secrets and SES identity from the template."""
    from local import stack

    os.environ.update(function_env(endpoint))
    stack.provision(template())


def function_services(logical_id: str) -> list[str]:
    """The AWS services a function's IAM policy lets it call (dynamodb, secretsmanager, ses), from template.yaml."""
    resources = template().resources
    services: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in resources:  # a managed policy defined in the template
                walk(resources[node["Ref"]].get("Properties", {}).get("PolicyDocument", {}))
                return
            actions = node.get("Action", [])
            for action in [actions] if isinstance(actions, str) else actions:
                if isinstance(action, str) and ":" in action:
                    services.add(action.split(":", 1)[0])
            for key, value in node.items():
                if key != "Action":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(resources[logical_id]["Properties"].get("Policies", []))
    return sorted(services & {"dynamodb", "secretsmanager", "ses"})


def function_dir(logical_id: str) -> Path:
    return template().functions()[logical_id].code_uri


def api_event(operation: str, body: dict) -> dict:
    """The API Gateway HTTP API (payload 2.0) event the operation's route receives, with Basic credentials."""
    from local import stack

    fn = template().functions()[OPERATIONS[operation]]
    route = fn.routes[0]
    return stack.http_event(
        route.method,
        route.path,
        route=f"{route.method} {route.path}",
        headers={
            "content-type": "application/json",
            "authorization": stack.basic_auth_header(),
            "host": "127.0.0.1:3000",
            "user-agent": "bench",
        },
        body=json.dumps(body),
    )


def schedule_event() -> dict:
    return json.loads((ROOT / "events" / "cleanup_schedule.json").read_text())


def invite_body(email: str, *, delivery: str = "email") -> dict:
    """The invite events/invite.json makes (a name, a locale, metadata), for `email`."""
    return {
        "email": email,
        "name": {"first_name": "Ada", "last_name": "Lovelace"},
        "invite_expiration_minutes": 60,
        "locale": "en",
        "trusted_metadata": {"plan": "team"},
        "delivery": delivery,
    }


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


class LambdaContext:
    """The parts of the Lambda context powertools reads."""

    def __init__(self, name: str):
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = "bench"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def expect_ok(response: Any, what: str) -> dict:
    """The decoded body of a 200 response, or an error saying what the function answered instead."""
    if not isinstance(response, dict) or response.get("statusCode", 200) != 200:
        raise RuntimeError(f"{what}: expected 200, got {str(response)[:500]}")
    return json.loads(response["body"]) if "body" in response else response


def section_main(name: str, run: Callable[[argparse.Namespace], tuple[list[Row], dict]]) -> None:
    """The command line of one section: run it and write {rows, info} as JSON to --out."""
    parser = argparse.ArgumentParser(prog=f"bench.{name}")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, for trying the benchmark out")
    args = parser.parse_args()
    rows, info = run(args)
    args.out.write_text(json.dumps({"rows": [asdict(r) for r in rows], "info": info}, indent=2, default=str))


def load_rows(data: dict) -> list[Row]:
    return [Row(**r) for r in data.get("rows", [])]


class Inputs:
    """Fresh inputs made through the service itself: unused emails, unspent tokens, pending invites.

    Both the service and bench/bare.py are measured on invites the service made, so both touch the same items.
    """

    def __init__(self, functions: Any, tag: str):
        self.functions = functions
        self.tag = tag
        self.count = 0
        self._shape: dict | None = None

    def email(self) -> str:
        self.count += 1
        return f"{self.tag}-{self.count}-{os.urandom(4).hex()}@example.com"

    def invite(self, address: str | None = None) -> dict:
        """A new pending invite (delivery none): the response body, with magic_link_url."""
        event = api_event("invite", invite_body(address or self.email(), delivery="none"))
        return expect_ok(self.functions.invoke(OPERATIONS["invite"], event), "invite (making inputs)")

    def pending(self) -> tuple[str, str]:
        """(email, token) of a new pending invite."""
        address = self.email()
        return address, token_of(self.invite(address)["magic_link_url"])

    def shape(self) -> dict:
        """A pending reader item as the service stores it, for bench/bare.py's invites to copy."""
        if self._shape is None:
            import boto3

            user_id = self.invite()["user_id"]
            key = {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "USER"}}
            self._shape = boto3.client("dynamodb").get_item(TableName=os.environ["TABLE_NAME"], Key=key)["Item"]
        return self._shape


def wipe_table() -> None:
    """Replace the service's table (TABLE_NAME) in the moto this process points at with an empty one, made
    from its template.yaml definition (indexes and TTL included).

    Between batches only: moto copies a whole table for every TransactWriteItems (to roll back a failed
    one), so its transactions slow down as the table grows, which no real DynamoDB does. Deleting the
    items is not enough: moto keeps an empty entry for every partition key the table has ever held, and
    copies those too (a bench run writes thousands of keys: a reader, an email pointer and a rate-limit
    counter per invite), so the table is deleted and created again.
    """
    import boto3

    from local import stack

    ddb = boto3.client("dynamodb")
    table = os.environ["TABLE_NAME"]
    for kwargs, ttl_attribute in template().table_definitions(stack.local_names()):
        if kwargs["TableName"] != table:
            continue
        ddb.delete_table(TableName=table)
        ddb.create_table(**kwargs)
        if ttl_attribute:
            ddb.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"AttributeName": ttl_attribute, "Enabled": True}
            )
        return
    raise RuntimeError(f"template.yaml defines no table named {table}")
