"""Deployment settings: one pydantic model, validated from the environment once per container."""

from __future__ import annotations

import os
from functools import cache
from typing import Literal

from pydantic import BaseModel, Field, field_validator


class Settings(BaseModel):
    table_name: str
    credentials_secret_id: str = Field(description="Secret holding {project_id, secret}")
    token_key_secret_id: str = Field(description="Secret holding {kid, key}, the token HMAC key")
    secrets_max_age: int = Field(default=300, ge=0, description="Seconds a fetched secret is cached")
    project_name: str = "Magic Link"
    sender_address: str = ""
    sender_name: str = ""
    ses_configuration_set: str = ""
    reply_to: str = ""
    notify_on_revoke: bool = False
    redirect_urls: tuple[str, ...] = ()
    public_base_url: str = Field(default="", description="The service's own URL, for links that point back at it")
    revoked_retention_days: int = Field(default=30, ge=1, le=3650)
    request_cooldown_seconds: int = Field(default=60, ge=1, le=86400)
    email_links_per_hour: int = Field(default=10, ge=1, le=100_000, description="Links for one email an hour")
    project_links_per_hour: int = Field(default=1000, ge=1, le=10_000_000, description="Links issued an hour")
    ip_requests_per_hour: int = Field(default=30, ge=1, le=100_000, description="Public requests per IP an hour")
    public_email_requests_per_hour: int = Field(
        default=10, ge=1, le=100_000, description="Public requests for one email an hour"
    )
    public_project_requests_per_hour: int = Field(
        default=1000, ge=1, le=10_000_000, description="Public requests the whole project answers an hour"
    )
    access_request_message: str = "You don't have access yet. Ask the owner of this site to invite you."
    owner_email: str = ""
    notify_owner: bool = False
    request_response_mode: Literal["explicit", "uniform"] = "explicit"
    signup_policy: Literal["invite_only", "open"] = Field(
        default="invite_only", description="What login_or_create does for an email that belongs to nobody"
    )
    code_lifetime_minutes: int = Field(
        default=10, ge=1, le=60, description="The most a one-time code lives (it never outlives its link)"
    )
    uniform_response_ms: int = Field(default=1500, ge=0, le=10000)
    cleanup_lookback_days: int = Field(default=30, ge=1, le=366)
    session_signing_key_ids: tuple[str, ...] = Field(default=(), description="KMS keys: current first, then previous")
    error_docs_url: str = "https://stytch.com/docs/api/errors/{status_code}#{error_type}"
    site_url: str = Field(default="", description="The private site's root (https://docs.example.com/); empty: none")
    site_url_parameter: str = Field(default="", description="An SSM parameter holding site_url, when that is empty")
    edge_secret_id: str = Field(default="", description="Secret the site's distribution sends (X-Magiclink-Edge)")
    site_session_minutes: int = Field(default=10080, ge=5, le=527040, description="A site sign-in's session")

    @field_validator("redirect_urls", "session_signing_key_ids", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(u.strip() for u in value.split(",") if u.strip())
        return value

    @property
    def default_redirect_url(self) -> str | None:
        return self.redirect_urls[0] if self.redirect_urls else None


def learn_public_base_url(url: str) -> None:
    """The service's own URL when the deployment names none (PublicBaseUrl empty): the API's, as API Gateway
    says a request reached it (requestContext.domainName), or the bootstrap's resource says. The template
    cannot hand a function the URL of the API in front of it without a dependency cycle. Set once a container."""
    if os.environ.get("PUBLIC_BASE_URL") or not url:
        return
    os.environ["PUBLIC_BASE_URL"] = url.rstrip("/")
    get_settings.cache_clear()


@cache
def get_settings() -> Settings:
    fields = Settings.model_fields
    return Settings.model_validate({k: os.environ[k.upper()] for k in fields if k.upper() in os.environ})
