"""The floor the service is measured against: the same AWS calls with bare boto3 clients and no framework.

Per operation it makes the calls the service makes, with the request expressions the service uses (as of
2026-11-22, commit 7e71150: rate limits counted in the invite's transaction, and the delivery state; keep
them in step when the service's requests change), and nothing else:
  invite        TransactWriteItems (the email pointer claimed, the reader written `sending`, and the email's
                and the project's rate-limit counters counted: two Puts and two conditional Updates)
                + SES SendEmail (raw MIME) + UpdateItem (the link marked sent, with SES's message id);
                new emails only (the baseline answers 409 where the service would reissue)
  authenticate  one conditional UpdateItem that spends the link
  revoke        GetItem (the email pointer) + one conditional UpdateItem
  cleanup       per day bucket, one Query of the by_expiry index (plus a delete per expired reader) and
                one Query of the by_due index (plus an update per due reader)
The rate limits are read from the same variables as the service's (EMAIL_LINKS_PER_HOUR,
PROJECT_LINKS_PER_HOUR), and the counters are the service's items: the two sides count against one
project counter, and a refusal is a 429 here too.
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
import contextlib
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


RATE_WINDOW = 3600  # the service's fixed one-hour windows (magiclink/limits.py)
EMAIL_SPACING = 1  # seconds between two links for one email
# What a stored reader carries that this module sets itself, or that only a later write adds.
NOT_COPIED = ("ttl", "expiry_bucket", "link_used_at", "link_sent_at", "link_message_id", "link_delivery_error")


class Bare:
    def __init__(
        self, services: tuple[str, ...] | list[str] = ("dynamodb", "secretsmanager", "ses"), shape: dict | None = None
    ):
        self.shape = {k: v for k, v in (shape or {}).items() if k not in NOT_COPIED}
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
        expires = now + 60 * body.get("invite_expiration_minutes", 60)
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
            "link_expires_at": {"N": str(expires)},
            "link_reusable": {"BOOL": False},
            "link_url": {"S": target},
            "link_delivery": {"S": "sending" if body.get("delivery", "email") == "email" else "none"},
            "list_partition": {"S": "READER"},
            "due_at": {"N": str(expires)},
            "due_bucket": {"S": _bucket(expires)},
        }
        pointer = {"pk": {"S": f"EMAIL#{email}"}, "sk": {"S": "EMAIL"}, "user_id": {"S": user_id}}
        return pointer, reader, token, f"{target}?token={token}&stytch_token_type=magic_links"

    def _counters(self, email: str, now: int) -> list[dict]:
        """The service's rate limits for one link: a conditional Update per counter (email, then project)."""
        start = now - now % RATE_WINDOW
        counters = (
            (f"email#{email}", int(os.environ.get("EMAIL_LINKS_PER_HOUR", "10")), EMAIL_SPACING),
            ("project", int(os.environ.get("PROJECT_LINKS_PER_HOUR", "1000")), 0),
        )
        actions = []
        for subject, limit, spacing in counters:
            condition = "attribute_not_exists(hits) OR (hits < :limit"
            values = {
                ":one": {"N": "1"},
                ":now": {"N": str(now)},
                ":limit": {"N": str(limit)},
                ":expires": {"N": str(start + RATE_WINDOW)},
            }
            if spacing:
                condition += " AND last_at <= :spaced"
                values[":spaced"] = {"N": str(now - spacing)}
            actions.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": f"RATE#{subject}"}, "sk": {"S": str(start)}},
                        "UpdateExpression": "ADD hits :one SET last_at = :now, #ttl = :expires",
                        "ConditionExpression": condition + ")",
                        "ExpressionAttributeNames": {"#ttl": "ttl"},
                        "ExpressionAttributeValues": values,
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        return actions

    def invite(self, body: dict, event: dict) -> dict:
        email = body["email"].strip().lower()
        pointer, reader, _, link = self._reader(email, body)
        condition = "attribute_not_exists(pk)"
        claim = {"TableName": self.table, "Item": pointer, "ConditionExpression": condition}
        try:
            self.ddb.transact_write_items(
                TransactItems=[
                    {"Put": claim | {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
                    {"Put": {"TableName": self.table, "Item": reader, "ConditionExpression": condition}},
                    *self._counters(email, int(time.time())),
                ]
            )
        except self.ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons[2:]:
                return _reply(429, {"status_code": 429, "error_type": "too_many_requests"})
            return _reply(409, {"status_code": 409, "error_type": "bare_baseline_new_invites_only"})
        if body.get("delivery", "email") == "email":
            name = body.get("name") or {}
            message_id = self._send(
                email, " ".join(p for p in (name.get("first_name"), name.get("last_name")) if p), link
            )
            with contextlib.suppress(self.ddb.exceptions.ConditionalCheckFailedException):
                self.ddb.update_item(
                    TableName=self.table,
                    Key={"pk": reader["pk"], "sk": reader["sk"]},
                    UpdateExpression="SET link_delivery = :sent, link_sent_at = :at, link_message_id = :id",
                    ConditionExpression="link_hash = :h",
                    ExpressionAttributeValues={
                        ":sent": {"S": "sent"},
                        ":at": {"N": str(int(time.time()))},
                        ":id": {"S": message_id},
                        ":h": reader["link_hash"],
                    },
                )
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

    def _send(self, to: str, name: str, link: str) -> str:
        sender = os.environ["SENDER_ADDRESS"]
        project = os.environ.get("PROJECT_NAME", "")
        message = EmailMessage()
        message["From"] = f"{os.environ.get('SENDER_NAME', '')} <{sender}>"
        message["To"] = to
        message["Subject"] = f"Your invitation to {project}"
        message.set_content(TEXT.format(name=name, project=project, link=link))
        message.add_alternative(HTML.format(name=name, project=project, link=link), subtype="html")
        request = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [to]},
            "Content": {"Raw": {"Data": message.as_bytes()}},
        }
        if os.environ.get("SES_CONFIGURATION_SET"):
            request["ConfigurationSetName"] = os.environ["SES_CONFIGURATION_SET"]
        return self.ses.send_email(**request)["MessageId"]

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
                    "link_hash IN (:hash0) AND link_expires_at > :now"
                    " AND (attribute_not_exists(link_used_at) OR link_reusable = :true)"
                    " AND grant_status IN (:pending, :active)"
                    " AND (attribute_not_exists(access_expires_at) OR access_expires_at > :now)"
                    " AND attribute_not_exists(link_code_challenge)"
                ),
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":hash0": {"S": self._hash(token)},
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
                    " #ttl = :delete_at, expiry_bucket = :bucket, due_at = :delete_at, due_bucket = :bucket,"
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
        found = deleted = settled = 0
        for days_ago in range(lookback, -1, -1):
            bucket = {"S": _bucket(now - days_ago * 86400)}
            for item in self._query("by_expiry", "expiry_bucket = :bucket AND #ttl <= :now", bucket, now):
                found += 1
                deleted += self._delete(item["pk"]["S"], item["email"]["S"], now)
            for item in self._query("by_due", "due_bucket = :bucket AND due_at <= :now", bucket, now):
                settled += self._settle(item, now)
        return {"found": found, "deleted": deleted, "settled": settled}

    def _query(self, index: str, condition: str, bucket: dict, now: int):
        kwargs = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": {":bucket": bucket, ":now": {"N": str(now)}},
        }
        if "#ttl" in condition:
            kwargs["ExpressionAttributeNames"] = {"#ttl": "ttl"}
        while True:
            page = self.ddb.query(**kwargs)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _settle(self, item: dict, now: int) -> int:
        """A due reader: the grant expires (its access or its pending link is over), else its due time is cleared."""
        access = int(item["access_expires_at"]["N"]) if "access_expires_at" in item else None
        link = int(item["link_expires_at"]["N"]) if "link_expires_at" in item else None
        pending = item.get("grant_status", {}).get("S") == "pending"
        if (access is not None and access <= now) or (pending and link is not None and link <= now):
            expression = "SET grant_status = :expired REMOVE link_hash, due_at, due_bucket"
            values = {":expired": {"S": "expired"}, ":seen": item["due_at"]}
        else:
            expression, values = "REMOVE due_at, due_bucket", {":seen": item["due_at"]}
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression=expression,
                ConditionExpression="due_at = :seen",
                ExpressionAttributeValues=values,
            )
        except self.ddb.exceptions.ConditionalCheckFailedException:
            return 0
        return 1

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
