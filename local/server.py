"""`make run`: the Docker-free `sam local start-api`. The template's routes on 127.0.0.1:$PORT, backed by moto,
and the private site's distribution on 127.0.0.1:$SITE_PORT (local/site.py).

Besides the template's routes it serves:
  GET    /_local/health        200 {"status": "ok"} once everything is provisioned, the site too
  GET    /_local/outbox        the outbox as a page for people: newest first, ?message=<id> opens one
  GET    /_local/outbox.json   every email sent: to, from, subject, html, text, links, sent_at
  DELETE /_local/outbox.json   empties the outbox
  GET    /_local/callback      stands in for your app's page that receives ?token=...
  GET    /openapi.json         the OpenAPI document of the API (every function's routes, merged)
  GET    /docs                 Swagger UI over it
  POST   /_local/clock         {"advance": seconds}: moves the service's clock and the gate's, for tests; only
                               when MAGICLINK_LOCAL_CLOCK is set
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from moto.server import ThreadedMotoServer

from . import apidocs, moto_patches, outbox_page, site, stack
from .cfn import Template

MAX_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit; the functions enforce their smaller one


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalStack:
    """moto on a loopback port, provisioned from the template, and the functions ready to call."""

    def __init__(self, base_url: str, env_overrides: dict[str, str] | None = None, site_url: str | None = None):
        self.moto_port = free_port()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self.endpoint = f"http://127.0.0.1:{self.moto_port}"
        self.template = Template()
        self.base_url = base_url
        self.env_overrides = env_overrides
        self.functions = stack.Functions(self.template)
        self.outbox = stack.Outbox()
        self.docs = apidocs.ApiDocs(self.functions)
        self.site_url = site_url
        self.clock = LocalClock() if os.environ.get("MAGICLINK_LOCAL_CLOCK") else None
        gate_env = os.environ | {"MAGICLINK_CLOCK_FILE": self.clock.path} if self.clock else None
        self.site = site.Distribution(site_url, gate_env) if site_url else None

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        moto_patches.apply()  # moto runs in this process, for as long as the stack does
        self.moto.start()
        os.environ.update(stack.aws_environment(self.endpoint))
        os.environ.update(
            stack.function_environment(self.template, self.base_url, self.env_overrides, site_url=self.site_url)
        )
        stack.provision(self.template)
        for layer in self.template.layer_dirs():  # the site's keys and the clock are the layer's (magiclink)
            if str(layer) not in sys.path:
                sys.path.insert(0, str(layer))
        if self.clock:
            self.clock.install()
        if self.site:
            self.site.start()

    def ready(self) -> bool:
        return self.site is None or self.site.ready()

    def stop(self) -> None:
        if self.site:
            self.site.stop()
        self.moto.stop()


class LocalClock:
    """Moves the service's clock (magiclink.clock, which every function of this process shares) and the gate's
    (edge/harness.mjs, started with local/clock.mjs, reads the offset from a file): tests move time past a
    site cookie's 55 seconds without waiting for it."""

    def __init__(self) -> None:
        import tempfile

        self.offset = 0.0
        handle, self.path = tempfile.mkstemp(prefix="magiclink-clock-")
        os.close(handle)
        self._write()

    def _write(self) -> None:
        with open(self.path, "w") as file:
            file.write(str(int(self.offset * 1000)))

    def install(self) -> None:
        from magiclink import clock

        real_ms = clock.now_ms
        clock.now_ms = lambda: real_ms() + int(self.offset * 1000)
        clock.now = lambda: clock.now_ms() // 1000

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self._write()


def make_handler(local: LocalStack, *, for_site: bool = False) -> type[BaseHTTPRequestHandler]:
    """The API's listener, or with `for_site` the site's: the API's paths to the same functions, the rest
    through the gate to the bucket."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "magiclink-local"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            # The request line carries query strings (tokens): log method and path only.
            sys.stderr.write(f"{self.command} {urlsplit(self.path).path} -> {args[1] if len(args) > 1 else ''}\n")

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, value: object) -> None:
            self._send(status, json.dumps(value, indent=2).encode(), {"Content-Type": "application/json"})

        def _local(self, path: str, query: dict[str, str]) -> bool:
            if path == "/_local/health" and self.command == "GET":
                ready = local.ready()
                self._json(
                    200 if ready else 503, {"status": "ok" if ready else "starting", "aws_endpoint": local.endpoint}
                )
            elif path == "/_local/clock" and self.command == "POST" and local.clock:
                length = int(self.headers.get("Content-Length") or 0)
                local.clock.advance(float(json.loads(self.rfile.read(length) or b"{}").get("advance", 0)))
                self._json(200, {"offset_seconds": local.clock.offset})
            elif path == outbox_page.PATH and self.command in ("GET", "HEAD"):
                status, page = outbox_page.render(local.outbox.messages(), query.get("message"))
                self._send(status, page.encode(), outbox_page.HEADERS)
            elif path == "/_local/outbox.json" and self.command == "GET":
                self._json(200, [m.as_json() for m in local.outbox.messages()])
            elif path == "/_local/outbox.json" and self.command == "DELETE":
                local.outbox.clear()
                self._json(200, [])
            elif path == "/_local/callback" and self.command in ("GET", "HEAD"):
                token = html.escape(query.get("token", ""))
                page = (
                    "<!DOCTYPE html><meta charset=utf-8><title>Your app</title>"
                    "<h1>Your app received a magic-link token</h1>"
                    "<p>An app backend now calls <code>POST /v1/magic_links/authenticate</code> with it:</p>"
                    f"<pre>{token}</pre>"
                )
                self._send(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
            else:
                return False
            return True

        def _dispatch(self) -> None:
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            if for_site and not site.to_api(url.path):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                site.serve(self, local.site)
                return
            if not for_site and url.path.startswith("/_local/") and self._local(url.path, query):
                return
            if not for_site and url.path in apidocs.PATHS and self.command in ("GET", "HEAD"):
                try:
                    self._send(200, *local.docs.answer(url.path, query))
                except Exception as exc:  # a route that cannot be documented: say so, and keep serving
                    sys.stderr.write(f"the OpenAPI document failed: {exc!r}\n")
                    self._json(500, {"message": f"The OpenAPI document could not be built: {exc!r}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._json(413, {"message": "Request Entity Too Large"})
                return
            body = self.rfile.read(length) if length else None
            matched = local.functions.match(self.command, url.path)
            if matched is None:
                self._json(404, {"message": "Not Found"})  # what API Gateway itself answers
                return
            logical_id, route_key, path_parameters = matched
            headers, source_ip = dict(self.headers.items()), self.client_address[0]
            if for_site:  # as the distribution reaches the API: from the edge's own address (the site listener's),
                # with the viewer's address and the edge secret added
                headers, source_ip = site.origin_headers(headers, self.client_address), self.server.server_address[0]
            event = stack.http_event(
                self.command,
                url.path,
                route=route_key,
                query=query,
                headers=headers,
                body=body,
                path_parameters=path_parameters,
                source_ip=source_ip,
            )
            try:
                response = local.functions.invoke(logical_id, event)
            except Exception as exc:  # what API Gateway answers when the function itself fails
                sys.stderr.write(f"{logical_id} failed: {exc!r}\n")
                self._json(500, {"message": "Internal Server Error"})
                return
            payload = response.get("body") or ""
            raw = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
            headers = dict(response.get("headers") or {})
            for key, values in (response.get("multiValueHeaders") or {}).items():
                headers[key] = ", ".join(values)
            headers.pop("Content-Length", None)
            self.send_response(response.get("statusCode", 200))
            for key, value in headers.items():
                self.send_header(key, value)
            for cookie in response.get("cookies") or []:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(raw)

        def __getattr__(self, name: str) -> Any:
            # Every method reaches the router, as at API Gateway, which answers one no route takes (TRACE, or
            # PATCH on a GET route) with its 404: http.server would answer a method with no do_<METHOD> 501, in HTML.
            if name.startswith("do_"):
                return self._dispatch
            raise AttributeError(name)

    return Handler


class Server(ThreadingHTTPServer):
    """The API Gateway stand-in's listener: a thread per connection."""

    daemon_threads = True
    # http.server's listen backlog is 5: a burst of clients connecting while the process is busy overflows it,
    # and they see connections reset. 40 at once is tested (tests/integration/test_local_stack_load.py).
    request_queue_size = 128


def main() -> None:
    port = int(os.environ.get("PORT", "3000"))
    site_port = int(os.environ.get("SITE_PORT", "3001"))
    base_url, site_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{site_port}"
    policy = os.environ.get("MAGICLINK_SIGNUP_POLICY")  # the SignupPolicy parameter, e.g. open
    local = LocalStack(base_url, {"SIGNUP_POLICY": policy} if policy else None, site_url=site_url)
    server = Server(("127.0.0.1", port), make_handler(local))
    site_server = Server(("127.0.0.1", site_port), make_handler(local, for_site=True))
    local.start()
    threading.Thread(target=site_server.serve_forever, daemon=True).start()
    project_id, secret = stack.credentials()
    print(
        f"Magic-link service running at {base_url}\n"
        f"  private site: {site_url} (the sample in site/; make publish-site DIR=... replaces it)\n"
        f"  project_id: {project_id}\n  secret:     {secret}\n"
        f"  outbox:     {base_url}/_local/outbox (and outbox.json)\n"
        f"  console:    {base_url}/console (make admin EMAIL=you@example.com invites an admin)\n"
        f"  API docs:   {base_url}/docs (Swagger UI), {base_url}/openapi.json\n"
        "Ctrl-C stops it.",
        flush=True,
    )

    def shutdown(*_: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()
        threading.Thread(target=site_server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        site_server.server_close()
        local.stop()
        print("Stopped.", flush=True)


if __name__ == "__main__":
    main()
