"""`make admin EMAIL=you@example.com`: invite a console admin on the running local stack (the local
stand-in for the AdminEmail parameter, which invites the first admin when the stack is deployed)."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

from .stack import basic_auth_header


def main(argv: list[str]) -> int:
    if len(argv) != 1 or "@" not in argv[0]:
        print("usage: make admin EMAIL=you@example.com", file=sys.stderr)
        return 2
    base = f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"
    body = {
        "email": argv[0],
        "role": "admin",
        "invite_magic_link_url": f"{base}/console/callback",
        "invite_expiration_minutes": 10080,
    }
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/v1/magic_links/email/invite",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": basic_auth_header()},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            json.load(response)
    except urllib.error.URLError as exc:
        print(f"Is `make run` going on {base}? {exc}", file=sys.stderr)
        return 1
    print(f"Invited {argv[0]} as an admin. Open the link in {base}/_local/outbox, then {base}/console.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
