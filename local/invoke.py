"""`make invoke FUNCTION=<logical id> EVENT=events/<file>.json`: the Docker-free `sam local invoke`.

Runs one event through one function of template.yaml and prints its response. Against the
backend of a running `make run` (same PORT) when there is one, so the event sees its data;
otherwise against a fresh local backend provisioned from the template.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

from . import stack
from .cfn import Template


def running_backend(base_url: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{base_url}/_local/health", timeout=1) as response:  # noqa: S310 - loopback
            return json.load(response)["aws_endpoint"]
    except OSError:
        return None


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    logical_id, event_path = argv
    template = Template()
    functions = stack.Functions(template)
    if logical_id not in functions.functions:
        print(
            f"No function {logical_id!r} in template.yaml; there are: {', '.join(functions.functions)}", file=sys.stderr
        )
        return 2
    event = json.loads(Path(event_path).read_text())
    base_url = f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"
    endpoint = running_backend(base_url)
    local = None
    if endpoint:
        os.environ.update(stack.aws_environment(endpoint))
        site_url = f"http://127.0.0.1:{os.environ.get('SITE_PORT', '3001')}"
        os.environ.update(stack.function_environment(template, base_url, site_url=site_url))
        print(f"Using the running local stack's backend at {base_url}", file=sys.stderr)
    else:
        from .server import LocalStack

        local = LocalStack(base_url)
        local.start()
        print("Using a fresh local backend (start `make run` to share its data)", file=sys.stderr)
    try:
        response = functions.invoke(logical_id, event)
    finally:
        if local:
            local.stop()
    print(json.dumps(response, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
