"""Project credentials and the token key, from Secrets Manager through powertools parameters (cached), and the
private site's URL where an SSM parameter holds it."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from functools import cache

from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
from botocore.config import Config

from .settings import get_settings
from .store.dynamo import sibling_client


@dataclass(frozen=True)
class ProjectCredentials:
    project_id: str
    secret: str

    def matches(self, project_id: str, secret: str) -> bool:
        # Compare both halves in constant time, and always both, so timing tells nothing.
        id_ok = hmac.compare_digest(project_id.encode(), self.project_id.encode())
        secret_ok = hmac.compare_digest(secret.encode(), self.secret.encode())
        return id_ok and secret_ok

    @property
    def environment(self) -> str:
        """Stytch's id flavour: `test` for project-test-* projects, `live` otherwise."""
        return "test" if self.project_id.startswith("project-test-") else "live"

    def user_id(self, user_uuid: uuid.UUID) -> str:
        """The user id a token's uuid stands for: `user-<environment>-<uuid>`, as Stytch's."""
        return f"user-{self.environment}-{user_uuid}"


@cache
def _provider() -> SecretsProvider:
    # Given a client of the store's session: a session of SecretsProvider's own would load the endpoint data
    # and service models again, about 100 ms of CPU at every cold start (docs/benchmarks.md).
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=3)
    return SecretsProvider(boto3_client=sibling_client("secretsmanager", config))


def _secret(secret_id: str) -> dict:
    settings = get_settings()
    return _provider().get(secret_id, transform="json", max_age=settings.secrets_max_age)


def project_credentials() -> ProjectCredentials:
    value = _secret(get_settings().credentials_secret_id)
    return ProjectCredentials(project_id=value["project_id"], secret=value["secret"])


def token_key() -> bytes:
    """The key new tokens are hashed (and cursors, grant links, CSRF tokens signed) with."""
    return _secret(get_settings().token_key_secret_id)["key"].encode()


def token_keys() -> list[bytes]:
    """Every key a token may have been hashed with: the current one, then `previous_keys`.

    Rotation: put the new key in `key` and the old one first in `previous_keys`; remove it once the
    longest-lived link and session issued before the rotation has expired.
    """
    secret = _secret(get_settings().token_key_secret_id)
    return [secret["key"].encode(), *(k.encode() for k in secret.get("previous_keys", []))]


def edge_secret() -> str:
    """What the private site's distribution sends in X-Magiclink-Edge (EDGE_SECRET_ID), or "" without a site."""
    secret_id = get_settings().edge_secret_id
    return str(_secret(secret_id)["value"]) if secret_id else ""


@cache
def _ssm() -> SSMProvider:
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=3)
    return SSMProvider(boto3_client=sibling_client("ssm", config))


def site_url() -> str:
    """The private site's root URL, or "" when the deployment has none: SITE_URL, else the SSM parameter
    SITE_URL_PARAMETER names (the distribution's domain, which the functions cannot be given by Ref without a
    cycle), read only when set and cached as the secrets are."""
    settings = get_settings()
    if settings.site_url or not settings.site_url_parameter:
        return settings.site_url
    return str(_ssm().get(settings.site_url_parameter, max_age=settings.secrets_max_age) or "")


def forget() -> None:
    """Read the secrets afresh next time: the site keys' publisher (edgekeys) runs just after a rotation."""
    _provider().clear_cache()
