"""The local stand-in for the private site's CloudFront distribution, on 127.0.0.1:$SITE_PORT (3001).

As deployed: /v1/*, /access and /_site/* go to the API (the same functions as the API's listener, with the
viewer's address and the edge secret added: `origin_headers`), and
everything else through the real gate, edge/gate.js, run by edge/harness.mjs in one long-lived node process;
what the gate passes is served from the site's bucket (a moto S3 bucket, seeded from site/ when empty), and
what it answers (a 302 to /access or /_site/refresh) is sent as it is. The gate's KeyValueStore holds
`site-key-<kid>` for every key sitecookie.site_keys() derives from the local token-key secret, read again
whenever the secret changes, so a rotation reaches the gate as it reaches the functions.
"""

from __future__ import annotations

import json
import mimetypes
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3

from . import stack
from .cfn import ROOT

BUCKET = "magiclink-local-site"
SAMPLE_SITE = ROOT / "site"
HARNESS = ROOT / "edge" / "harness.mjs"
API_PREFIXES = ("/v1/", "/_site/")
API_PATHS = ("/access",)
CLOCK_FILE = "MAGICLINK_CLOCK_FILE"  # local/clock.mjs: the gate's clock offset, when tests move time


def to_api(path: str) -> bool:
    """Whether the distribution sends this path to the API (its /v1/*, /access and /_site/* behaviours)."""
    return path.startswith(API_PREFIXES) or path in API_PATHS


def origin_headers(headers: dict[str, str], client: tuple[str, int]) -> dict[str, str]:
    """The headers of a request the distribution sends to the API: the viewer's, with CloudFront-Viewer-Address
    (`ip:port`, an IPv6 address unbracketed, as CloudFront writes it) and the api origin's X-Magiclink-Edge, the
    edge secret. Both replace whatever the viewer sent under those names, as CloudFront's do."""
    from magiclink import http

    ours = {http.VIEWER_ADDRESS_HEADER, http.EDGE_HEADER}
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=stack.local_names()["SiteEdgeSecret"])
    return {k: v for k, v in headers.items() if k.lower() not in ours} | {
        "CloudFront-Viewer-Address": f"{client[0]}:{client[1]}",
        "X-Magiclink-Edge": json.loads(secret["SecretString"])["value"],
    }


def content_type(key: str) -> str:
    kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind == "application/javascript" else kind


def upload(client: Any, folder: Path, *, delete: bool = False) -> list[str]:
    """Every file under `folder` into the bucket, with its content type; with `delete`, what is no longer
    there is removed (as `aws s3 sync --delete`). Returns the keys written."""
    files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
    for key, path in files.items():
        client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes(), ContentType=content_type(key))
    if delete:
        stale = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []) if o["Key"] not in files]
        for key in stale:
            client.delete_object(Bucket=BUCKET, Key=key)
    return list(files)


class Gate:
    """edge/harness.mjs --serve: one node process, asked one request at a time."""

    def __init__(self, env: dict[str, str] | None = None):
        self._lock = threading.Lock()
        self._env = env
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        clock = ["--import", (ROOT / "local" / "clock.mjs").as_uri()] if (self._env or {}).get(CLOCK_FILE) else []
        self._process = subprocess.Popen(  # noqa: S603 - our own harness
            ["node", *clock, str(HARNESS), "--serve"],  # noqa: S607 - node from PATH, as make test runs it
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=self._env,
        )

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def ask(self, event: dict, kvs: dict[str, str]) -> dict:
        """The gate's result for a viewer-request event: the request (passed on) or a response."""
        request_id = uuid.uuid4().hex
        with self._lock:
            if not self.alive():
                self.start()  # it died: a new one, rather than a site that answers nothing
            self._process.stdin.write(json.dumps({"id": request_id, "event": event, "kvs": kvs}) + "\n")
            self._process.stdin.flush()
            answer = json.loads(self._process.stdout.readline() or "{}")
        if answer.get("id") != request_id or "result" not in answer:
            raise RuntimeError(f"the gate failed: {answer.get('error', 'no answer')}")
        return answer["result"]

    def stop(self) -> None:
        if self.alive():
            self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()


class Distribution:
    """The site's bucket, the gate and its KeyValueStore, behind the site's listener."""

    def __init__(self, site_url: str, gate_env: dict[str, str] | None = None):
        self.site_url = site_url
        self.gate = Gate(gate_env)
        self._keys: tuple[str, dict[str, str]] = ("", {})
        self._ready = False

    def start(self) -> None:
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        if not s3.list_objects_v2(Bucket=BUCKET, MaxKeys=1).get("KeyCount"):
            upload(s3, SAMPLE_SITE)
        self.gate.start()
        self.kvs()
        self._ready = True

    def ready(self) -> bool:
        return self._ready and self.gate.alive()

    def stop(self) -> None:
        self.gate.stop()

    def kvs(self) -> dict[str, str]:
        """The KeyValueStore: site-key-<kid> for every accepted key, derived again when the secret changed."""
        from magiclink import sitecookie

        secret = boto3.client("secretsmanager").get_secret_value(SecretId=stack.local_names()["TokenKeySecret"])
        if secret["VersionId"] != self._keys[0]:
            value = json.loads(secret["SecretString"])
            token_keys = [value["key"].encode(), *(k.encode() for k in value.get("previous_keys", []))]
            keys = {f"{sitecookie.KEY_PREFIX}{kid}": key for kid, key in sitecookie.site_keys(token_keys)}
            self._keys = (secret["VersionId"], keys)
        return self._keys[1]

    def event(self, method: str, raw_path: str, headers: dict[str, str], source_ip: str) -> dict:
        """A CloudFront viewer-request event, as the distribution hands it to the function."""
        url = urlsplit(raw_path)
        headers = {k.lower(): v for k, v in headers.items()}
        querystring: dict[str, dict] = {}
        for pair in filter(None, url.query.split("&")):
            name, _, value = pair.partition("=")
            if name in querystring:
                entry = querystring[name]
                entry.setdefault("multiValue", [{"value": entry["value"]}]).append({"value": value})
            else:
                querystring[name] = {"value": value}
        cookies = {}
        for pair in (headers.get("cookie") or "").split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep:
                cookies[name] = {"value": value}
        return {
            "version": "1.0",
            "context": {
                "distributionDomainName": urlsplit(self.site_url).netloc,
                "distributionId": "ELOCALSITE",
                "eventType": "viewer-request",
                "requestId": uuid.uuid4().hex,
            },
            "viewer": {"ip": source_ip},
            "request": {
                "method": method,
                "uri": url.path or "/",
                "querystring": querystring,
                "headers": {k: {"value": v} for k, v in headers.items() if k != "cookie"},
                "cookies": cookies,
            },
        }

    def answer(self, method: str, raw_path: str, headers: dict[str, str], source_ip: str) -> tuple[int, bytes, dict]:
        """(status, body, headers) for a request the gate sees: its redirect, or the bucket's object."""
        result = self.gate.ask(self.event(method, raw_path, headers, source_ip), self.kvs())
        if "statusCode" in result:
            sent = {k: v["value"] for k, v in (result.get("headers") or {}).items()}
            return int(result["statusCode"]), b"", sent
        key = unquote(result["uri"]).lstrip("/")
        s3 = boto3.client("s3")
        private = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
        try:
            found = s3.get_object(Bucket=BUCKET, Key=key)
            return 200, found["Body"].read(), {"Content-Type": found["ContentType"], **private}
        except s3.exceptions.NoSuchKey:
            pass
        try:
            page = s3.get_object(Bucket=BUCKET, Key="404.html")["Body"].read()
        except s3.exceptions.NoSuchKey:
            page = b"<!DOCTYPE html><title>Not found</title><h1>Not found</h1>"
        return 404, page, {"Content-Type": "text/html; charset=utf-8", **private}


def serve(handler: Any, distribution: Distribution) -> None:
    """Answer a request of the site's listener that is not the API's (`handler` is server.py's)."""
    try:
        status, body, headers = distribution.answer(
            handler.command, handler.path, dict(handler.headers.items()), handler.client_address[0]
        )
    except Exception as exc:  # what CloudFront answers when the function fails
        sys.stderr.write(f"the site's gate failed: {exc!r}\n")
        status, body, headers = 503, b"The site's gate failed.", {"Content-Type": "text/plain; charset=utf-8"}
    handler._send(status, body, headers)
