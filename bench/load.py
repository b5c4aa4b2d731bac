"""Load: the local stack (`python -m local.server`) under 8 concurrent clients, 2000 authentications of distinct tokens.

The stack is local.server's, started by this module (`python -m bench.load serve`) only so that it can
raise the rate limits (common.RATE_LIMITS): `python -m local.server` takes the template's, and the 2000
invites that make the tokens would pass the project's default 1000 links an hour.

The tokens are made first, through the stack's own invite endpoint with "delivery": "none" (its
magic_link_url carries the token), 100 at a time: each phase makes 100 tokens, spends them, and empties
the table (moto's transactions slow down as its table grows, see common.wipe_table). The baseline is
bench/bare.py authenticating half as many other tokens with the same 8 workers, straight against the
stack's moto endpoint (no HTTP hop through the local server, no framework); its tokens are written
directly in the service's item shape. The two alternate which goes first in each phase so drift hits
both alike. Latency is per request, measured by the client; errors are non-200 answers or failures.

The local stack runs every function in one process, one request per function at a time (like one
Lambda container each) and moto in that same process: p99 under 8 workers is mostly queueing.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from .common import (
    OPERATIONS,
    PY,
    RATE_LIMITS,
    ROOT,
    Row,
    api_event,
    clean_env,
    free_port,
    function_env,
    invite_body,
    median,
    percentile,
    progress,
    section_main,
    stop,
    template,
    token_of,
    wipe_table,
)

WORKERS = 8
PHASE = 100  # tokens made, then spent, per phase; the table is emptied between phases (see common.wipe_table)
BARE_PHASE = 50  # the baseline's share per phase: half as many samples, to keep `make bench` short


class Client:
    """One keep-alive HTTP connection per worker thread, with Basic credentials."""

    def __init__(self, base_url: str):
        from local.stack import basic_auth_header

        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.auth = basic_auth_header()
        self.local = threading.local()

    def post(self, path: str, body: dict) -> tuple[int, dict | None, float]:
        if not hasattr(self.local, "conn"):
            self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        conn = self.local.conn
        payload = json.dumps(body)
        headers = {"Content-Type": "application/json", "Authorization": self.auth}
        start = time.perf_counter()
        try:
            conn.request("POST", path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            elapsed = time.perf_counter() - start
        except (OSError, http.client.HTTPException):
            conn.close()
            del self.local.conn
            return 0, None, time.perf_counter() - start
        try:
            return response.status, json.loads(raw), elapsed
        except ValueError:
            return response.status, None, elapsed


def serve(port: int) -> None:
    """What `python -m local.server` runs, with the rate limits raised (common.RATE_LIMITS)."""
    from local import server

    local = server.LocalStack(f"http://127.0.0.1:{port}", env_overrides=RATE_LIMITS)
    local.start()
    httpd = server.Server(("127.0.0.1", port), server.make_handler(local))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown, daemon=True).start())
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
        local.stop()


def _start_stack(port: int) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [PY, "-m", "bench.load", "serve"],
        cwd=ROOT,
        env=clean_env(PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _health(base_url: str, process: subprocess.Popen, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local.server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/_local/health", timeout=2) as response:  # noqa: S310 - loopback
                return json.load(response)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the local stack did not become healthy")


def _summary(results: list[tuple[int, Any, float]]) -> dict:
    latencies = [r[2] * 1000 for r in results]
    return {
        "n": len(results),
        "errors": sum(1 for r in results if r[0] != 200),
        "p50_ms": median(latencies),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
    }


def run(args) -> tuple[list[Row], dict]:
    from .bare import Bare

    total = 200 if args.quick else 2000
    phases = total // PHASE
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = _start_stack(port)
    info: dict[str, Any] = {"workers": WORKERS, "authentications": total, "phase": PHASE, "baseline_phase": BARE_PHASE}
    results: dict[str, list] = {"svc": [], "bare": []}
    invites: list = []
    wall = {"svc": 0.0, "bare": 0.0}
    try:
        endpoint = _health(base_url, process)["aws_endpoint"]
        os.environ.update(function_env(endpoint))  # this process's own boto3 calls: bare.py, wipe_table
        client = Client(base_url)
        functions = template().functions()
        invite_path = functions[OPERATIONS["invite"]].routes[0].path
        auth_path = functions[OPERATIONS["authenticate"]].routes[0].path
        bare = None

        def invite(i: int) -> tuple[int, Any, float]:
            return client.post(invite_path, invite_body(f"load-{i}-{os.urandom(4).hex()}@example.com", delivery="none"))

        def svc_auth(token: str) -> tuple[int, Any, float]:
            return client.post(auth_path, {"token": token})

        def bare_auth(token: str) -> tuple[int, Any, float]:
            event = api_event("authenticate", {"token": token})
            start = time.perf_counter()
            try:
                status = bare.handle("authenticate", event)["statusCode"]
            except Exception:  # an error is a result here
                status = 0
            return status, None, time.perf_counter() - start

        progress(
            f"load: {phases} phases of {PHASE} invites, then {PHASE} authentications each side ({WORKERS} workers)"
        )
        for p in range(phases):
            with ThreadPoolExecutor(WORKERS) as pool:
                made = list(pool.map(invite, range(p * PHASE, (p + 1) * PHASE)))
            invites += made
            bad = [m for m in made if m[0] != 200]
            if bad:
                raise RuntimeError(f"load: {len(bad)} invites failed, e.g. {bad[0][:2]}")
            tokens = [token_of(m[1]["magic_link_url"]) for m in made]
            if bare is None:
                import boto3

                key = {"pk": {"S": f"USER#{made[0][1]['user_id']}"}, "sk": {"S": "USER"}}
                shape = boto3.client("dynamodb").get_item(TableName=os.environ["TABLE_NAME"], Key=key)["Item"]
                bare = Bare(shape=shape)
            bare_tokens = [bare.seed(f"load-bare-{p}-{i}@example.com") for i in range(BARE_PHASE)]
            order = (("bare", bare_auth, bare_tokens), ("svc", svc_auth, tokens))
            for side, fn, chunk in order if p % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                with ThreadPoolExecutor(WORKERS) as pool:
                    results[side] += list(pool.map(fn, chunk))
                wall[side] += time.perf_counter() - started
            wipe_table()
            if (p + 1) % 5 == 0:
                progress(f"load: {(p + 1) * PHASE}/{total} authentications each side")
    finally:
        stop(process, 15)

    svc, base = _summary(results["svc"]), _summary(results["bare"])
    for side, answers in results.items():
        failed = next((r for r in answers if r[0] != 200), None)
        if failed:
            info[f"first_error_{side}"] = {"status": failed[0], "body": failed[1]}
    info["invites"] = _summary(invites)
    info["authenticate"] = {"service": svc, "baseline": base}
    info["throughput_rps"] = {side: len(results[side]) / wall[side] for side in wall}
    note = f"{total} distinct tokens, {WORKERS} workers; baseline: bench/bare.py straight to the stack's moto"
    note += f" ({len(results['bare'])} tokens)"
    return [
        Row("load", "authenticate p50", "ms", base["p50_ms"], svc["p50_ms"], note=note),
        Row("load", "authenticate p99", "ms", base["p99_ms"], svc["p99_ms"], note=note),
        Row(
            "load",
            "authenticate throughput",
            "req/s",
            info["throughput_rps"]["bare"],
            info["throughput_rps"]["svc"],
            note="requests / wall time of the phases",
        ),
        Row("load", "authenticate errors", "errors", float(base["errors"]), float(svc["errors"]), max_value=0),
    ], info


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(os.environ["PORT"]))
    else:
        section_main("load", run)
