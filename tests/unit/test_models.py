"""Email and locale normalisation, and the invite request's limits."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from magiclink.models.fields import normalize_email, normalize_locale
from magiclink.models.requests import InviteRequest


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  ada@Example.COM \n", "ada@example.com"),
        ("Ada.Lovelace+docs@EXAMPLE.co.uk", "Ada.Lovelace+docs@example.co.uk"),
        ("ada@bücher.example", "ada@xn--bcher-kva.example"),
    ],
)
def test_emails_are_trimmed_and_their_domain_lower_cased(given, stored):
    assert normalize_email(given) == stored


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "ada",
        "@example.com",
        "ada@",
        "ada@example",
        "ada@@example.com",
        "ada@exa mple.com",
        "a..b@example.com",
        ".ada@example.com",
        "ada@-example.com",
        "ada@example.123",
        "ådå@example.com",
        "ada@example.com\r\nBcc: eve@example.com",
        "a" * 65 + "@example.com",
        "ada@" + "a" * 250 + ".com",
    ],
)
def test_malformed_emails_are_refused(bad):
    with pytest.raises(ValueError):
        normalize_email(bad)


@pytest.mark.parametrize(("given", "stored"), [("en", "en"), ("pt-BR", "pt-br"), (" FR ", "fr"), ("es", "es")])
def test_locales_are_case_insensitive(given, stored):
    assert normalize_locale(given) == stored


@pytest.mark.parametrize("bad", ["de", "EN_us", "pt_br", "", "english"])
def test_unknown_locales_are_refused(bad):
    with pytest.raises(ValueError):
        normalize_locale(bad)


def test_invite_defaults_are_stytchs():
    request = InviteRequest(email="ada@example.com")
    assert request.invite_expiration_minutes == 60
    assert request.access_expiration_minutes is None
    assert request.delivery == "email" and request.reusable is False and request.role == "reader"


@pytest.mark.parametrize(
    "fields",
    [
        {"invite_expiration_minutes": 4},
        {"invite_expiration_minutes": 10081},
        {"invite_expiration_minutes": 60.0},
        {"invite_expiration_minutes": True},
        {"access_expiration_minutes": 0},
        {"role": "reader; drop"},
        {"reusable": 1},
        {"unknown": 1},
    ],
)
def test_invite_limits(fields):
    with pytest.raises(ValidationError):
        InviteRequest.model_validate({"email": "ada@example.com", **fields})


def test_secrets_in_request_models_stay_out_of_their_repr():
    from magiclink.models.requests import AuthenticateRequest, SessionsRevokeRequest

    request = AuthenticateRequest(token="t" * 40, session_token="s" * 40, session_jwt="j" * 40, code_verifier="v" * 43)
    revoke = SessionsRevokeRequest(session_token="s" * 40, session_jwt="j" * 40)
    shown = repr(request) + str(request) + repr(revoke)
    assert "AuthenticateRequest" in shown
    for secret in ("t" * 40, "s" * 40, "j" * 40, "v" * 43):
        assert secret not in shown
