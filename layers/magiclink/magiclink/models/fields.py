"""The field types every model shares: constrained strings and numbers, the enums, and the small nested
shapes (Name, Attributes) that both the wire and the stored items use."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, model_validator

LOCALES = ("en", "es", "fr", "pt-br")

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def email_identity(email: str) -> str:
    """What makes two addresses one identity: the whole address, case-folded (`Ada@Example.com` is
    `ada@example.com`; a plus-address stays its own mailbox). The address as first given is kept for display
    and mail; pointers, requests and rate-limit counters are keyed by this."""
    return email.lower()


def normalize_email(value: str) -> str:
    """Trim, lower-case the domain (IDNA-encoded), and refuse anything SES could not deliver to."""
    value = value.strip()
    local, sep, domain = value.rpartition("@")
    if not sep or not local or len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        raise ValueError("email format is invalid")
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError("email format is invalid") from exc
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise ValueError("email format is invalid")
    email = f"{local}@{domain}"
    if len(email) > 254:
        raise ValueError("email is longer than 254 characters")
    return email


def normalize_locale(value: str) -> str:
    locale = value.strip().lower()
    if locale not in LOCALES:
        raise ValueError(f"locale must be one of {', '.join(LOCALES)}")
    return locale


# Free-form JSON (metadata, custom claims) as stored and answered: bounded on the way in, by Metadata.
JsonObject = dict[str, Any]
# Deep enough for any real metadata or claims (two or three levels), shallow enough that an answer carrying
# them always serialises (pydantic's serialiser stops at about 255) and that, stored as a map inside a
# session entry, they would still fit DynamoDB's 32 levels.
METADATA_MAX_DEPTH = 16
METADATA_MAX_BYTES = 4096  # Stytch's limit on a metadata object and on a session's custom claims


def _depth(value: Any) -> int:
    """How many objects and arrays deep `value` goes (a scalar is 0, {} is 1)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            pending.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _bounded(value: JsonObject) -> JsonObject:
    if _depth(value) > METADATA_MAX_DEPTH:
        raise ValueError(f"nests deeper than {METADATA_MAX_DEPTH} levels")
    if len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()) > METADATA_MAX_BYTES:
        raise ValueError(f"is larger than {METADATA_MAX_BYTES} bytes as JSON")
    return value


# Characters no human-readable field may hold: C0 and C1 controls (CR, LF, NUL, ESC, NEL...), the line and
# paragraph separators, and the bidi overrides and isolates that make text read other than it is.
_CONTROLS = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROLS}]")
PLAIN_TEXT = f"^[^{_CONTROLS}]*$"  # the same rule for the OpenAPI document (JSON Schema reads these escapes too)


def _plain(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters, line breaks or bidirectional overrides")
    return value


Email = Annotated[str, Field(max_length=320, json_schema_extra={"format": "email"}), AfterValidator(normalize_email)]
Locale = Annotated[str, Field(max_length=16), AfterValidator(normalize_locale)]
Metadata = Annotated[JsonObject, AfterValidator(_bounded)]
# Every human-readable field (names, who invites): they reach email bodies, Subject lines and pages.
Text = Annotated[str, Field(json_schema_extra={"pattern": PLAIN_TEXT}), AfterValidator(_plain)]
NamePart = Annotated[Text, Field(max_length=256)]
SessionMinutes = Annotated[int, Field(strict=True, ge=5, le=527040)]
TemplateId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# RFC 7636: the verifier is 43..128 unreserved characters; the S256 challenge is 43 base64url characters.
CodeVerifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9._~-]{43,128}$")]
CodeChallenge = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")]

UserStatus = Literal["pending", "active"]
GrantStatus = Literal["pending", "active", "revoked", "expired"]
LinkState = Literal["active", "used", "expired", "deactivated", "none"]
LinkDelivery = Literal["sent", "sending", "not_delivered", "returned"]
HistoryEventName = Literal["created", "invited", "renewed", "link_issued", "link_deactivated", "revoked", "expired"]


def iso(epoch: int) -> str:
    """Times on the wire: RFC 3339, UTC, whole seconds."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LazyModel(BaseModel):
    """Every model's base: its validator is built at first use, not at import, so that a function builds the
    models its routes use and not the others (a cold start pays for each one built)."""

    model_config = ConfigDict(defer_build=True)


class WireModel(LazyModel):
    """A shape on the wire: unknown fields refused; a field sent as null is taken as absent (Stytch's SDKs
    send every optional field, null when unset), so it gets its default."""

    model_config = ConfigDict(extra="forbid", str_strict=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class Name(WireModel):
    first_name: NamePart = ""
    middle_name: NamePart = ""
    last_name: NamePart = ""


class Attributes(WireModel):
    ip_address: Annotated[str, Field(max_length=64)] | None = None
    user_agent: Annotated[str, Field(max_length=1024)] | None = None


class AuthenticateOptions(WireModel):
    ip_match_required: StrictBool = False
    user_agent_match_required: StrictBool = False
