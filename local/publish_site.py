"""`make publish-site DIR=./my-docs` (no STACK): a folder becomes the running local stack's private site.

Uploads every file under DIR to the local site's bucket (the moto backend of `make run` on the same PORT),
with its content type, and removes what is no longer in DIR, as `aws s3 sync --delete` would.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import boto3

from . import site, stack
from .invoke import running_backend


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__, file=sys.stderr)
        return 2
    base_url = f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"
    endpoint = running_backend(base_url)
    if endpoint is None:
        print(f"No local stack at {base_url}: start it with `make run` first", file=sys.stderr)
        return 1
    os.environ.update(stack.aws_environment(endpoint))
    keys = site.upload(boto3.client("s3"), Path(argv[0]), delete=True)
    site_port = os.environ.get("SITE_PORT", "3001")
    print(f"Published {len(keys)} files to the local site, http://127.0.0.1:{site_port}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
