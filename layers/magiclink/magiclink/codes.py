"""One-time codes: the code emailed beside every link (made here, with its lifetime), and the ticket a
public page hands the browser that asked for a link, without which that page tries no code.

Why a ticket: each code allows MAX_CODE_TRIES, and the last wrong one kills code and link. Were the public
code form open to anyone who names an email, a stranger could spend a reader's tries and so their link.
With the ticket, a page tries only a code whose link was issued since the ticket was (the link the same
browser just asked for): a stranger can spend the tries of a link only by asking for it themselves, which
supersedes the reader's older link anyway (self-service's cooldown and public budgets bound that). Apps
calling POST /v1/otps/authenticate authenticate with the project's secret and need no ticket.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import keyring, tokens
from .models.fields import normalize_email
from .settings import get_settings

_TICKET = "code-ticket"
TICKET_COOKIE = "ml_code"


@dataclass(frozen=True)
class Code:
    """The one-time code emailed beside a link: the digits (for the email only), its stored hash, its end."""

    code: str = ""
    code_hash: str | None = None
    code_expires_at: int | None = None

    @classmethod
    def beside(
        cls, user_id: str, key: bytes, *, now: int, link_expires_at: int, delivery: str, minutes: int | None = None
    ) -> Code:
        """A code for a link about to be emailed (none for a link returned to the caller): it lives as long
        as the link, at most the deployment's CodeLifetimeMinutes (and `minutes`, when the caller asks less)."""
        if delivery != "email":
            return cls()
        code = tokens.new_code()
        cap = min(get_settings().code_lifetime_minutes, minutes or get_settings().code_lifetime_minutes)
        ends = min(link_expires_at, now + cap * 60)
        return cls(code, tokens.code_hash(key, user_id, code), ends)

    def minutes(self, now: int) -> int:
        return max(1, -(-((self.code_expires_at or now) - now) // 60))


def ticket(email: str, now: int) -> str:
    """The signed ticket a page hands the browser that just asked for a link for `email` (in a cookie)."""
    try:
        email = normalize_email(email)
    except ValueError:
        email = ""  # no link goes to an address that is not one: its ticket covers nothing
    return keyring.dumps(_TICKET, {"e": email, "t": now})


def read_ticket(signed: str, now: int) -> tuple[str, int] | None:
    """(the email, when the ticket was issued) if it is one of ours, for an address, and no code it covers can
    have ended yet; None otherwise."""
    try:
        value = keyring.loads(_TICKET, signed or "")
    except keyring.BadSignature:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("e"), str) or not isinstance(value.get("t"), int):
        return None
    email, issued = value["e"], value["t"]
    fresh = issued <= now < issued + get_settings().code_lifetime_minutes * 60
    return (email, issued) if email and fresh else None


def ticket_cookie(value: str, path: str):
    """The ticket's cookie, for the page at `path` only: HttpOnly, SameSite=Strict, Secure on HTTPS, as long
    as a code lives (an empty value clears it)."""
    from aws_lambda_powertools.shared.cookies import Cookie, SameSite

    secure = get_settings().public_base_url.startswith("https://")
    max_age = get_settings().code_lifetime_minutes * 60 if value else 0
    return Cookie(
        TICKET_COOKIE, value, path=path, secure=secure, http_only=True, max_age=max_age, same_site=SameSite.STRICT_MODE
    )
