"""Strangers' requests for access (`REQUEST#<email>`): recorded with a cooldown, listed for the owner,
granted or dismissed; each is kept until its retention passes."""

from __future__ import annotations

from ..models.fields import email_identity
from .dynamo import EMAIL_INDEX, applied, client, expiry_bucket, table, throttling_as_503, values


def request_key(email: str) -> dict:
    return {"pk": {"S": f"REQUEST#{email_identity(email)}"}, "sk": {"S": "REQUEST"}}


def record(email: str, *, now: int, not_since: int, delete_at: int) -> bool:
    """Record (or refresh) a stranger's request for access; False if they asked after `not_since` already."""
    return applied(
        TableName=table(),
        Key=request_key(email),
        UpdateExpression=(
            "SET email = :email, list_partition = :partition, requested_at = :now, request_status = :pending,"
            " request_count = if_not_exists(request_count, :zero) + :one,"
            " #ttl = :delete_at, expiry_bucket = :bucket"
        ),
        ConditionExpression="attribute_not_exists(pk) OR requested_at <= :not_since",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues=values(
            email=email,
            partition="REQUEST",
            now=now,
            pending="pending",
            zero=0,
            one=1,
            delete_at=delete_at,
            bucket=expiry_bucket(delete_at),
            not_since=not_since,
        ),
    )


def resolve(email: str, *, status: str) -> bool:
    """Mark a stranger's request granted or dismissed (it stays until its retention passes); False if none."""
    return applied(
        TableName=table(),
        Key=request_key(email),
        UpdateExpression="SET request_status = :status",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues=values(status=status),
    )


def pending(limit: int = 100) -> list[dict]:
    """Strangers' requests still waiting for the owner, in email order (one Query on the by_email index)."""
    with throttling_as_503():
        page = client().query(
            TableName=table(),
            IndexName=EMAIL_INDEX,
            KeyConditionExpression="list_partition = :partition",
            FilterExpression="request_status = :pending",
            ExpressionAttributeValues=values(partition="REQUEST", pending="pending"),
            Limit=limit,
        )
    return [
        {
            "email": item["email"]["S"],
            "requested_at": int(item["requested_at"]["N"]),
            "request_count": int(item["request_count"]["N"]),
        }
        for item in page["Items"]
    ]
