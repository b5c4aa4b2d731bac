"""The floor the service is measured against: the same AWS calls with bare boto3 clients and no framework.

Per operation it makes the calls the service's README promises, with the request expressions the service
uses (as of the benchmark's writing: keep them in step when the service's requests change), and nothing else:
  invite        GetItem (the email pointer) + TransactWriteItems (pointer and reader) + SES SendEmail (raw MIME)
  authenticate  one conditional UpdateItem that spends the link
  revoke        GetItem (the email pointer) + one conditional UpdateItem
  cleanup       one Query per expiry-day bucket of the by_expiry index (plus a delete per expired reader)
Secrets (the API credentials and the token key) are read from Secrets Manager once per process, as the
service does. Requests are checked for the Basic credentials, bodies are json.loads'ed and responses
json.dumps'ed, so the baseline does what any handler must; it does no validation, logging or metrics.

Deliberately only boto3 and the standard library: cold-start benchmarks import this in a fresh process.
It uses the service's key layout (USER#<user_id>, EMAIL#<email>) and attribute names, so that it makes
the same requests on the same items: the benchmarks hand it tokens and pending invites the service
made, and give its invite `shape`, an item the service stored, whose other attributes (the ones this
module does not set itself) it copies, so that its items are as large and in the same indexes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage

import boto3

TEXT = "Hello {name},\n\nYou are invited to {project}. Sign in: {link}\nThe link expires in 1 hour.\n"
HTML = (
    "<!DOCTYPE html><html><body><p>Hello {name},</p><p>You are invited to {project}.</p>"
    '<p><a href="{link}">Sign in</a></p><p>The link expires in 1 hour.</p></body></html>'
)


def _reply(status: int, body: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _bucket(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


class Bare:
    def __init__(
        self, services: tuple[str, ...] | list[str] = ("dynamodb", "secretsmanager", "ses"), shape: dict | None = None
    ):
        self.shape = {k: v for k, v in (shape or {}).items() if k not in ("ttl", "expiry_bucket", "link_used_at")}
        self.table = os.environ["TABLE_NAME"]
        self.ddb = boto3.client("dynamodb")
        self.ses = boto3.client("sesv2") if "ses" in services else None
        self.sm = boto3.client("secretsmanager") if "secretsmanager" in services else None
        self._secrets: dict[str, dict] = {}

    # --- what every request needs ---------------------------------------------------------------

    def _secret(self, variable: str) -> dict:
        secret_id = os.environ[variable]
        if secret_id not in self._secrets:
            value = self.sm.get_secret_value(SecretId=secret_id)["SecretString"]
            self._secrets[secret_id] = json.loads(value)
        return self._secrets[secret_id]

    def _authorized(self, event: dict) -> bool:
        credentials = self._secret("CREDENTIALS_SECRET_ID")
        raw = f"{credentials['project_id']}:{credentials['secret']}".encode()
        given = (event.get("headers") or {}).get("authorization", "")
        return hmac.compare_digest(given.encode(), b"Basic " + base64.b64encode(raw))

    def _env(self) -> str:
        return "test" if self._secret("CREDENTIALS_SECRET_ID")["project_id"].startswith("project-test-") else "live"

    def _hash(self, token: str) -> str:
        key = self._secret("TOKEN_KEY_SECRET_ID")["key"].encode()
        return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()

    def handle(self, operation: str, event: dict) -> dict:
        if operation == "cleanup":
            return self.cleanup()
        if not self._authorized(event):
            return _reply(401, {"status_code": 401, "error_type": "unauthorized_credentials"})
        body = json.loads(event.get("body") or "{}")
        return getattr(self, operation)(body, event)

    # --- the operations -------------------------------------------------------------------------

    def _reader(self, email: str, body: dict) -> tuple[dict, dict, str, str]:
        """(email pointer item, reader item, token, link) of a new pending invite."""
        now = int(time.time())
        env = self._env()
        user_uuid = uuid.uuid4()
        token = base64.urlsafe_b64encode(user_uuid.bytes + secrets.token_bytes(32)).decode()
        user_id = f"user-{env}-{user_uuid}"
        target = os.environ["REDIRECT_URLS"].split(",")[0].strip()
        name = body.get("name") or {}
        reader = self.shape | {
            "pk": {"S": f"USER#{user_id}"},
            "sk": {"S": "USER"},
            "user_id": {"S": user_id},
            "email_id": {"S": f"email-{env}-{uuid.uuid4()}"},
            "email": {"S": email},
            "name": {"M": {k: {"S": name.get(k, "")} for k in ("first_name", "middle_name", "last_name")}},
            "user_status": {"S": "pending"},
            "created_at": {"N": str(now)},
            "locale": {"S": body.get("locale") or "en"},
            "trusted_metadata": {"S": json.dumps(body.get("trusted_metadata") or {}, separators=(",", ":"))},
            "untrusted_metadata": {"S": json.dumps(body.get("untrusted_metadata") or {}, separators=(",", ":"))},
            "grant_id": {"S": f"grant-{env}-{uuid.uuid4()}"},
            "role": {"S": body.get("role", "reader")},
            "grant_status": {"S": "pending"},
            "invited_at": {"N": str(now)},
            "invited_by": {"S": self._secret("CREDENTIALS_SECRET_ID")["project_id"]},
            "authentication_count": {"N": "0"},
            "link_hash": {"S": self._hash(token)},
            "link_issued_at": {"N": str(now)},
            "link_expires_at": {"N": str(now + 60 * body.get("invite_expiration_minutes", 60))},
            "link_reusable": {"BOOL": False},
            "link_url": {"S": target},
        }
        pointer = {"pk": {"S": f"EMAIL#{email}"}, "sk": {"S": "EMAIL"}, "user_id": {"S": user_id}}
        return pointer, reader, token, f"{target}?token={token}&stytch_token_type=magic_links"

    def invite(self, body: dict, event: dict) -> dict:
        email = body["email"].strip().lower()
        pointer_key = {"pk": {"S": f"EMAIL#{email}"}, "sk": {"S": "EMAIL"}}
        if self.ddb.get_item(TableName=self.table, Key=pointer_key, ConsistentRead=True).get("Item"):
            return _reply(409, {"status_code": 409, "error_type": "bare_baseline_new_invites_only"})
        pointer, reader, _, link = self._reader(email, body)
        condition = "attribute_not_exists(pk)"
        self.ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": self.table, "Item": pointer, "ConditionExpression": condition}},
                {"Put": {"TableName": self.table, "Item": reader, "ConditionExpression": condition}},
            ]
        )
        if body.get("delivery", "email") == "email":
            name = body.get("name") or {}
            self._send(email, " ".join(p for p in (name.get("first_name"), name.get("last_name")) if p), link)
        answer = {
            "request_id": event.get("requestContext", {}).get("requestId", ""),
            "status_code": 200,
            "user_id": reader["user_id"]["S"],
            "email_id": reader["email_id"]["S"],
            "grant_id": reader["grant_id"]["S"],
            "grant_renewed": False,
            "magic_link_url": link if body.get("delivery") == "none" else None,
        }
        return _reply(200, answer)

    def seed(self, email: str) -> str:
        """Setup only, not a baseline: a pending invite written with two plain puts; returns its token."""
        pointer, reader, token, _ = self._reader(email, {})
        self.ddb.put_item(TableName=self.table, Item=pointer)
        self.ddb.put_item(TableName=self.table, Item=reader)
        return token

    def _send(self, to: str, name: str, link: str) -> None:
        sender = os.environ["SENDER_ADDRESS"]
        project = os.environ.get("PROJECT_NAME", "")
        message = EmailMessage()
        message["From"] = f"{os.environ.get('SENDER_NAME', '')} <{sender}>"
        message["To"] = to
        message["Subject"] = f"Your invitation to {project}"
        message.set_content(TEXT.format(name=name, project=project, link=link))
        message.add_alternative(HTML.format(name=name, project=project, link=link), subtype="html")
        self.ses.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": [to]},
            Content={"Raw": {"Data": message.as_bytes()}},
        )

    def authenticate(self, body: dict, event: dict) -> dict:
        token = body["token"]
        raw = base64.urlsafe_b64decode(token)
        user_id = f"user-{self._env()}-{uuid.UUID(bytes=raw[:16])}"
        now = int(time.time())
        try:
            new = self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "USER"}},
                UpdateExpression=(
                    "SET link_used_at = :now, user_status = :active, grant_status = :active,"
                    " last_authenticated_at = :now,"
                    " authentication_count = if_not_exists(authentication_count, :zero) + :one"
                ),
                ConditionExpression=(
                    "link_hash = :hash AND link_expires_at > :now"
                    " AND (attribute_not_exists(link_used_at) OR link_reusable = :true)"
                    " AND grant_status IN (:pending, :active)"
                    " AND (attribute_not_exists(access_expires_at) OR access_expires_at > :now)"
                    " AND attribute_not_exists(link_code_challenge)"
                ),
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":hash": {"S": self._hash(token)},
                    ":active": {"S": "active"},
                    ":pending": {"S": "pending"},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":true": {"BOOL": True},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )["Attributes"]
        except self.ddb.exceptions.ConditionalCheckFailedException:
            return _reply(401, {"status_code": 401, "error_type": "unable_to_auth_magic_link"})
        user = {
            "user_id": new["user_id"]["S"],
            "emails": [{"email_id": new["email_id"]["S"], "email": new["email"]["S"], "verified": True}],
            "status": new["user_status"]["S"],
            "name": {k: v["S"] for k, v in new["name"]["M"].items()},
            "created_at": datetime.fromtimestamp(int(new["created_at"]["N"]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "trusted_metadata": json.loads(new["trusted_metadata"]["S"]),
            "untrusted_metadata": json.loads(new["untrusted_metadata"]["S"]),
            "roles": [new["role"]["S"]],
        }
        answer = {
            "request_id": event.get("requestContext", {}).get("requestId", ""),
            "status_code": 200,
            "user_id": user["user_id"],
            "method_id": new["email_id"]["S"],
            "user": user,
            "session_token": "",
            "session_jwt": "",
            "grant_id": new["grant_id"]["S"],
            "role": new["role"]["S"],
        }
        return _reply(200, answer)

    def revoke_invite(self, body: dict, event: dict) -> dict:
        email = body["email"].strip().lower()
        pointer = self.ddb.get_item(
            TableName=self.table, Key={"pk": {"S": f"EMAIL#{email}"}, "sk": {"S": "EMAIL"}}, ConsistentRead=True
        ).get("Item")
        if not pointer:
            return _reply(404, {"status_code": 404, "error_type": "email_not_found"})
        now = int(time.time())
        delete_at = now + 86400 * int(os.environ.get("REVOKED_RETENTION_DAYS", "30"))
        by = {"S": self._secret("CREDENTIALS_SECRET_ID")["project_id"]}
        try:
            new = self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"USER#{pointer['user_id']['S']}"}, "sk": {"S": "USER"}},
                UpdateExpression=(
                    "SET grant_status = :revoked, revoked_at = :now, revoked_by = :by,"
                    " #ttl = :delete_at, expiry_bucket = :bucket,"
                    " history = list_append(if_not_exists(history, :empty), :event)"
                    " REMOVE link_hash"
                ),
                ConditionExpression="attribute_exists(pk) AND grant_status <> :revoked AND user_status = :pending",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":revoked": {"S": "revoked"},
                    ":now": {"N": str(now)},
                    ":by": by,
                    ":pending": {"S": "pending"},
                    ":delete_at": {"N": str(delete_at)},
                    ":bucket": {"S": _bucket(delete_at)},
                    ":empty": {"L": []},
                    ":event": {"L": [{"M": {"at": {"N": str(now)}, "event": {"S": "revoked"}, "by": by}}]},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )["Attributes"]
        except self.ddb.exceptions.ConditionalCheckFailedException:
            return _reply(400, {"status_code": 400, "error_type": "invite_already_accepted"})
        answer = {
            "request_id": event.get("requestContext", {}).get("requestId", ""),
            "status_code": 200,
            "user_id": new["user_id"]["S"],
        }
        return _reply(200, answer)

    def cleanup(self) -> dict:
        now = int(time.time())
        lookback = int(os.environ.get("CLEANUP_LOOKBACK_DAYS", "30"))
        found = deleted = 0
        for days_ago in range(lookback, -1, -1):
            kwargs = {
                "TableName": self.table,
                "IndexName": "by_expiry",
                "KeyConditionExpression": "expiry_bucket = :bucket AND #ttl <= :now",
                "ExpressionAttributeNames": {"#ttl": "ttl"},
                "ExpressionAttributeValues": {
                    ":bucket": {"S": _bucket(now - days_ago * 86400)},
                    ":now": {"N": str(now)},
                },
            }
            while True:
                page = self.ddb.query(**kwargs)
                for item in page["Items"]:
                    found += 1
                    deleted += self._delete(item["pk"]["S"], item["email"]["S"], now)
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return {"found": found, "deleted": deleted}

    def _delete(self, pk: str, email: str, now: int) -> int:
        try:
            self.ddb.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": {"pk": {"S": pk}, "sk": {"S": "USER"}},
                            "ConditionExpression": "#ttl <= :now",
                            "ExpressionAttributeNames": {"#ttl": "ttl"},
                            "ExpressionAttributeValues": {":now": {"N": str(now)}},
                        }
                    },
                    {"Delete": {"TableName": self.table, "Key": {"pk": {"S": f"EMAIL#{email}"}, "sk": {"S": "EMAIL"}}}},
                ]
            )
        except self.ddb.exceptions.TransactionCanceledException:
            return 0
        return 1
