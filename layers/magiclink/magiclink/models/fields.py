"""The field types every model shares: constrained strings and numbers, the enums, and the small nested
shapes (Name, Attributes) that both the wire and the stored items use."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

LOCALES = ("en", "es", "fr", "pt-br")

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


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


Email = Annotated[str, Field(max_length=320, json_schema_extra={"format": "email"}), AfterValidator(normalize_email)]
Locale = Annotated[str, Field(max_length=16), AfterValidator(normalize_locale)]
Metadata = dict[str, Any]
# Names go into email bodies and pages (escaped); control characters (CR/LF included) are never a name.
NamePart = Annotated[str, Field(max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$")]
SessionMinutes = Annotated[int, Field(strict=True, ge=5, le=527040)]
TemplateId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# RFC 7636: the verifier is 43..128 unreserved characters; the S256 challenge is 43 base64url characters.
CodeVerifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9._~-]{43,128}$")]
CodeChallenge = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")]

UserStatus = Literal["pending", "active"]
GrantStatus = Literal["pending", "active", "revoked", "expired"]
LinkState = Literal["active", "used", "expired", "deactivated", "none"]
LinkDelivery = Literal["sent", "sending", "not_delivered", "returned"]
HistoryEventName = Literal["invited", "renewed", "link_issued", "link_deactivated", "revoked", "expired"]


def iso(epoch: int) -> str:
    """Times on the wire: RFC 3339, UTC, whole seconds."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LazyModel(BaseModel):
    """Every model's base: its validator is built at first use, not at import, so that a function builds the
    models its routes use and not the others (a cold start pays for each one built)."""

    model_config = ConfigDict(defer_build=True)


class WireModel(LazyModel):
    model_config = ConfigDict(extra="forbid", str_strict=True)


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
