"""The local stand-in for AWS: moto (in-process or its own server) provisioned from template.yaml,
the template's functions loaded with the layer on the path, and the outbox of every email SES took."""

from __future__ import annotations

import base64
import email
import email.policy
import importlib.util
import json
import os
import re
import secrets
import shlex
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from html import unescape
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import boto3

from .cfn import NO_VALUE, Function, Template, resolve

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
DEFAULT_PROJECT_ID = "project-test-local"
DEFAULT_SECRET = "secret-test-local"
_LINK = re.compile(r"https?://[^\s\"'<>]+")
# A one-time code: six ASCII digits (\d would take other scripts' digits too), alone on a line of the text part.
_CODE = re.compile(r"[0-9]{6}")
_TAG = re.compile(r"<[^>]*>")


def local_names() -> dict[str, str]:
    """What each template resource is called locally."""
    return {
        "Table": "magiclink-local",
        "CredentialsSecret": "magiclink/local/credentials",
        "TokenKeySecret": "magiclink/local/token-key",
        "SiteEdgeSecret": "magiclink/local/site-edge",
        "ConfigurationSet": "magiclink-local",
        "SessionSigningKey.Arn": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:alias/magiclink-local-session-signing",
    }


def credentials() -> tuple[str, str]:
    return (
        os.environ.get("MAGICLINK_PROJECT_ID", DEFAULT_PROJECT_ID),
        os.environ.get("MAGICLINK_SECRET", DEFAULT_SECRET),
    )


def basic_auth_header(project_id: str | None = None, secret: str | None = None) -> str:
    default_id, default_secret = credentials()
    raw = f"{project_id or default_id}:{secret or default_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def aws_environment(endpoint_url: str | None) -> dict[str, str]:
    """Dummy credentials, and every boto3 client pointed at the local backend (never at AWS)."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


def parameter_overrides(template: Template) -> dict[str, str]:
    """The template parameters MAGICLINK_PARAMETER_OVERRIDES sets, in `sam deploy --parameter-overrides`'s
    shorthand: "ProjectLinksPerHour=100000 EmailLinksPerHour=50". A name the template lacks is refused."""
    overrides = {}
    for pair in shlex.split(os.environ.get("MAGICLINK_PARAMETER_OVERRIDES", "")):
        name, equals, value = pair.partition("=")
        if not equals or name not in template.parameters:
            raise ValueError(f"MAGICLINK_PARAMETER_OVERRIDES: {pair!r} is not Name=Value for a template parameter")
        overrides[name] = value
    return overrides


def function_environment(
    template: Template, base_url: str, overrides: dict[str, str] | None = None, *, site_url: str | None = None
) -> dict:
    """The functions' environment variables, as the template sets them, resolved for the local stack, with
    SITE_URL (and the site's root on the allow-list) when the local stack serves the private site.

    All functions share one process here, so the template must not give two functions different
    values for one variable; that is checked rather than silently merged.
    """
    project_id, _ = credentials()
    parameters = template.parameters | parameter_overrides(template)
    parameters |= {  # what the local stack sets itself, whatever the overrides say
        "ProjectId": project_id,
        "RedirectUrls": ",".join([f"{base_url}/_local/callback", *([f"{site_url}/"] if site_url else [])]),
        "SesConfigurationSet": "",
        "PublicBaseUrl": base_url,
    }
    refs = parameters | local_names() | {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID, "AWS::NoValue": NO_VALUE}
    merged: dict[str, str] = {}
    for fn in template.functions().values():
        for key, value in fn.environment.items():
            if overrides and key in overrides:
                resolved = overrides[key]
            else:
                resolved = resolve(value, refs, template.doc.get("Conditions", {}))
            if merged.setdefault(key, resolved) != resolved:
                raise ValueError(f"{key} differs between functions; the local stack runs them in one process")
    if site_url:  # what SiteProtection=true gives the functions: the site's URL, and the secret its edge sends
        merged["SITE_URL"] = site_url
        merged["EDGE_SECRET_ID"] = local_names()["SiteEdgeSecret"]
    return merged


def sign_digests_as_kms_does() -> None:
    """moto signs a `MessageType=DIGEST` message as if it were RAW, hashing the digest again
    (getmoto/moto#10202), so the signature would not verify against the key; KMS signs the digest itself.
    This makes the moto of this process do what KMS does, for the one algorithm the service signs with."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    from moto.kms.responses import KmsResponse

    moto_sign = KmsResponse.sign
    if getattr(moto_sign, "signs_digests", False):
        return

    def sign(self: KmsResponse) -> str:
        algorithm = self._get_param("SigningAlgorithm")
        if self._get_param("MessageType") != "DIGEST" or algorithm != "RSASSA_PKCS1_V1_5_SHA_256":
            return moto_sign(self)
        key = self.kms_backend.describe_key(self._get_param("KeyId"))
        digest = self._get_param("Message")
        signature = key.private_key.private_key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        return json.dumps(
            {"KeyId": key.arn, "Signature": base64.b64encode(signature).decode(), "SigningAlgorithm": algorithm}
        )

    sign.signs_digests = True
    KmsResponse.sign = sign


def provision(template: Template) -> None:
    """Create, from the template, what the functions expect to find: tables, secrets, the SES identity."""
    sign_digests_as_kms_does()
    names = local_names()
    dynamodb = boto3.client("dynamodb")
    for kwargs, ttl_attribute in template.table_definitions(names):
        dynamodb.create_table(**kwargs)
        if ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=kwargs["TableName"],
                TimeToLiveSpecification={"AttributeName": ttl_attribute, "Enabled": True},
            )
    project_id, secret = credentials()
    sm = boto3.client("secretsmanager")
    sm.create_secret(
        Name=names["CredentialsSecret"], SecretString=json.dumps({"project_id": project_id, "secret": secret})
    )
    sm.create_secret(
        Name=names["TokenKeySecret"], SecretString=json.dumps({"kid": "k1", "key": secrets.token_urlsafe(48)})
    )
    # The site's edge secret (SiteEdgeSecret): the local site sends it in X-Magiclink-Edge, as the distribution does
    sm.create_secret(Name=names["SiteEdgeSecret"], SecretString=json.dumps({"value": secrets.token_urlsafe(36)}))
    kms = boto3.client("kms")
    for logical_id, resource in template.of_type("AWS::KMS::Key").items():
        props = resource["Properties"]
        key_id = kms.create_key(KeySpec=props["KeySpec"], KeyUsage=props["KeyUsage"])["KeyMetadata"]["KeyId"]
        alias = names[f"{logical_id}.Arn"].split(":", 5)[5]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    identity = template.parameters["SesIdentity"]
    ses = boto3.client("ses")
    for logical_id in template.of_type("AWS::SES::ConfigurationSet"):
        ses.create_configuration_set(ConfigurationSet={"Name": names[logical_id]})
    if "@" in identity:
        ses.verify_email_identity(EmailAddress=identity)
    else:
        ses.verify_domain_identity(Domain=identity)


class LambdaContext:
    """The parts of the Lambda context object that powertools reads."""

    def __init__(self, fn: Function):
        self.function_name = fn.logical_id
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{fn.logical_id}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.logical_id}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_module(fn: Function, layers: list) -> ModuleType:
    """Import a function's module the way Lambda would: its own code dir and the layer on sys.path."""
    for layer in layers:
        if str(layer) not in sys.path:
            sys.path.insert(0, str(layer))
    module_name = fn.handler.rsplit(".", 1)[0]
    spec = importlib.util.spec_from_file_location(f"fn_{fn.logical_id}", fn.code_uri / f"{module_name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def http_event(
    method: str,
    path: str,
    *,
    route: str,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    path_parameters: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict:
    """An API Gateway HTTP API payload v2.0 event, as the real service builds it."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=").lower(),
            "routeKey": route,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if "cookie" in headers:
        event["cookies"] = [c.strip() for c in headers["cookie"].split(";")]
    if body:
        if isinstance(body, bytes):
            try:
                body = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
                return event
        event["body"] = body
    return event


class Functions:
    """The template's functions, each loaded once and called one event at a time, like one container."""

    def __init__(self, template: Template):
        self.template = template
        self.functions = template.functions()
        self._modules: dict[str, ModuleType] = {}
        self._locks = {name: threading.Lock() for name in self.functions}

    def module(self, logical_id: str) -> ModuleType:
        if logical_id not in self._modules:
            self._modules[logical_id] = load_module(self.functions[logical_id], self.template.layer_dirs())
        return self._modules[logical_id]

    def handler(self, logical_id: str) -> Any:
        return getattr(self.module(logical_id), self.functions[logical_id].handler.rsplit(".", 1)[1])

    def resolvers(self) -> list[Any]:
        """The powertools resolver (`app`) of every function that serves HTTP routes."""
        apps = []
        for logical_id, fn in self.functions.items():
            if fn.routes:
                with self._locks[logical_id]:  # not loaded twice by a request arriving meanwhile
                    apps.append(self.module(logical_id).app)
        return apps

    def invoke(self, logical_id: str, event: dict) -> Any:
        with self._locks[logical_id]:
            return self.handler(logical_id)(event, LambdaContext(self.functions[logical_id]))

    def match(self, method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
        """(logical id, route key, path parameters) of the route serving this request, if any: as API Gateway
        does, a route the request matches, else the `$default` route."""
        default = None
        for fn in self.functions.values():
            for route in fn.routes:
                if route.path == "$default":
                    default = (fn.logical_id, "$default", {})
                    continue
                found = route.pattern.match(path)
                if found and route.method in (method, "ANY"):
                    return fn.logical_id, f"{route.method} {route.path}", found.groupdict()
        return default


@dataclass
class Mail:
    to: list[str]
    sender: str
    subject: str
    html: str
    text: str
    links: list[str]
    codes: list[str]
    sent_at: str
    message_id: str

    def as_json(self) -> dict:
        return {
            "message_id": self.message_id,
            "to": self.to,
            "from": self.sender,
            "subject": self.subject,
            "html": self.html,
            "text": self.text,
            "links": self.links,
            "codes": self.codes,
            "sent_at": self.sent_at,
        }


def _codes(text: str, html: str) -> list[str]:
    """The one-time codes a message carries: each six-digit line of the text part whose code the HTML part
    shows too, alone in its element (a code only one part shows is a broken template: not listed)."""
    words = unescape(_TAG.sub(" ", html)).split()
    lines = (line.strip() for line in text.splitlines())
    return [code for code in dict.fromkeys(line for line in lines if _CODE.fullmatch(line)) if code in words]


def _parse(message_id: str, raw: str) -> Mail:
    parsed = email.message_from_string(raw, policy=email.policy.default)
    html = parsed.get_body(("html",))
    text = parsed.get_body(("plain",))
    html_content = html.get_content() if html else ""
    text_content = text.get_content() if text else ""
    links = list(dict.fromkeys(_LINK.findall(text_content) + re.findall(r'href="([^"]+)"', html_content)))
    links = [link.replace("&amp;", "&") for link in links]
    return Mail(
        to=[str(a) for a in parsed.get("To", "").addresses] if parsed.get("To") else [],
        sender=str(parsed.get("From", "")),
        subject=str(parsed.get("Subject", "")),
        html=html_content,
        text=text_content,
        links=list(dict.fromkeys(links)),
        codes=_codes(text_content, html_content),
        sent_at=parsedate_to_datetime(parsed["Date"]).isoformat() if parsed.get("Date") else "",
        message_id=message_id,
    )


class Outbox:
    """Every message moto's SES accepted, oldest first (moto keeps them in-process)."""

    def _backend(self):
        from moto.ses.models import ses_backends

        return ses_backends[ACCOUNT_ID][REGION]

    def messages(self) -> list[Mail]:
        return [_parse(m.id, m.raw_data) for m in self._backend().sent_messages if hasattr(m, "raw_data")]

    def clear(self) -> None:
        self._backend().sent_messages.clear()
