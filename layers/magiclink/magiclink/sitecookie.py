"""The private site's signed cookie: what the CloudFront Function (edge/gate.js) checks at the edge.

One format, shared by this module (which signs) and the gate (which verifies, with no network):

    v1.<kid>.<exp>.<session_id>.<sig>

- `kid` names the key (8 hex characters); the gate reads the key from the KeyValueStore entry
  `site-key-<kid>`, so keys rotate without signing anyone out (current and previous both verify).
- `exp` is the cookie's end, in epoch seconds: at most SITE_COOKIE_SECONDS ahead, so a revoked reader
  is out within 60 s, when the gate sends them to /_site/refresh and the session is checked in DynamoDB.
- `session_id` is the Stytch session id the cookie stands for (`session-<env>-<uuid>-<sid>`).
- `sig` is base64url (unpadded) HMAC-SHA256 of `v1.<kid>.<exp>.<session_id>` under the key, where the
  key is the ASCII text of the KeyValueStore value (the gate's crypto takes a string key).

The keys are derived from the token keys (keyring.derived_keys("site-cookie")): the current token key's
signs, every accepted one's verifies; `site_keys()` is what the KeyValueStore must hold.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from . import keyring

VERSION = "v1"
SITE_COOKIE_SECONDS = 55  # under 60 s, with room for the edge's clock
KEY_PREFIX = "site-key-"  # the KeyValueStore entry of a key: site-key-<kid>
_PURPOSE = "site-cookie"
_SHAPE = re.compile(r"v1\.([0-9a-f]{8})\.([0-9]{1,12})\.([A-Za-z0-9-]{1,128})\.([A-Za-z0-9_-]{43})")


def _kvs_value(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def _kid(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def site_keys(token_keys: list[bytes] | None = None) -> list[tuple[str, str]]:
    """(kid, KeyValueStore value) of every accepted key, current first: what the gate's store holds
    (derived from `token_keys` when given: the local stand-in reads the secret itself, uncached)."""
    return [(_kid(key), _kvs_value(key)) for key in keyring.derived_keys(_PURPOSE, token_keys)]


def _sig(value: str, message: str) -> str:
    digest = hmac.new(value.encode("ascii"), message.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def sign(session_id: str, *, now: int, expires_at: int | None = None) -> str:
    """A cookie value for `session_id` under the current key, ending at most SITE_COOKIE_SECONDS from now
    (sooner when the session itself ends sooner: `expires_at`)."""
    kid, value = site_keys()[0]
    exp = now + SITE_COOKIE_SECONDS if expires_at is None else min(expires_at, now + SITE_COOKIE_SECONDS)
    message = f"{VERSION}.{kid}.{exp}.{session_id}"
    return f"{message}.{_sig(value, message)}"


def verify(cookie: str, *, now: int) -> tuple[str, bool] | None:
    """(session_id, whether it is still fresh) for a cookie signed under an accepted key; None otherwise."""
    match = _SHAPE.fullmatch(cookie or "")
    if not match:
        return None
    kid, exp, session_id, sig = match.groups()
    keys = dict(site_keys())
    if kid not in keys:
        return None
    if not hmac.compare_digest(_sig(keys[kid], cookie.rsplit(".", 1)[0]), sig):
        return None
    return session_id, int(exp) > now
