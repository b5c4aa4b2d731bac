"""GET /openapi.json and /docs: one OpenAPI document for every function's routes, and Swagger UI over it.

The document is built once, from the functions' own resolvers (powertools generates each from the
pydantic models; magiclink.openapi merges them). Swagger UI's script and styles are powertools' copy,
served from here, so the page works offline.
"""

from __future__ import annotations

import json
import threading
import tomllib
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi import swagger_ui
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

from .cfn import ROOT
from .stack import Functions

DOCUMENT = "/openapi.json"
PAGE = "/docs"
_SWAGGER = Path(swagger_ui.__file__).parent
ASSETS = {
    f"{PAGE}/swagger-ui-bundle.min.js": ("swagger-ui-bundle.min.js", "text/javascript; charset=utf-8"),
    f"{PAGE}/swagger-ui.min.css": ("swagger-ui.min.css", "text/css; charset=utf-8"),
}
PATHS = {DOCUMENT, PAGE, *ASSETS}


class ApiDocs:
    def __init__(self, functions: Functions):
        self.functions = functions
        self._lock = threading.Lock()
        self._document: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        with self._lock:
            if self._document is None:
                resolvers = self.functions.resolvers()
                from magiclink import openapi  # the layer is on sys.path once the functions are loaded

                version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
                self._document = openapi.document(resolvers, version=version)
            return self._document

    def answer(self, path: str, query: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        """The body and headers for one of PATHS (Swagger UI links the document as /docs?format=json)."""
        if path == DOCUMENT or (path == PAGE and query.get("format") == "json"):
            return json.dumps(self.document(), indent=2).encode(), {"Content-Type": "application/json"}
        if path == PAGE:
            spec = json.dumps(self.document()).replace("</", "<\\/")  # stays inside its <script>
            js, css = list(ASSETS)
            page = generate_swagger_html(spec, js, css, PAGE, None)
            return page.encode(), {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
        name, content_type = ASSETS[path]
        return (_SWAGGER / name).read_bytes(), {"Content-Type": content_type}
