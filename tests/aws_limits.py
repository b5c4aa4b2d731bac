"""What AWS refuses and moto accepts: the documented limits, checked on every call a boto3 client makes.

tests/conftest.py installs these checks on every client (`install`), so a call AWS would refuse fails the
way AWS would (a ValidationException), and the autouse `strict_aws` fixture (below, used by
tests/conftest.py) fails the test that made it, even where the code under test caught the error. Each limit
names the AWS page that documents it.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.model import OperationModel, Shape

KB = 1024
MB = 1024 * KB

DYNAMODB_LIMITS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html"
# An item's size: its attribute names and values (https://docs.aws.amazon.com/amazondynamodb/latest/
# developerguide/CapacityUnitCalculations.html), at most 400 KB (DYNAMODB_LIMITS#limits-items).
ITEM_MAX_BYTES = 400 * KB
# Nested attributes: up to 32 levels deep (DYNAMODB_LIMITS#limits-data-types).
NESTING_MAX_LEVELS = 32
# TransactWriteItems: the items' aggregate size at most 4 MB, and no two actions on one item
# (DYNAMODB_LIMITS#limits-dynamodb-transactions; at most 100 actions is in the service model, below).
TRANSACTION_MAX_BYTES = 4 * MB
# Expressions (DYNAMODB_LIMITS#limits-expression-parameters): any expression string at most 4 KB; any one
# expression attribute name or value placeholder at most 255 bytes; all substitution variables at most
# 2 MB; at most 100 operands to IN. An ExpressionAttributeNames or ExpressionAttributeValues entry that no
# expression uses is refused, as is a placeholder that none defines
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ExpressionAttributeNames.html).
EXPRESSION_MAX_BYTES = 4 * KB
PLACEHOLDER_MAX_BYTES = 255
SUBSTITUTIONS_MAX_BYTES = 2 * MB
IN_MAX_OPERANDS = 100
# KMS Sign/Verify with MessageType DIGEST: the message must be a digest of the algorithm's hash, 32 bytes for
# the *_SHA_256 algorithms (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html). A RAW
# message of at most 4,096 bytes is in the service model, below.
DIGEST_BYTES = {"256": 32, "384": 48, "512": 64}
# SES v2 SendEmail: a message of at most 40 MB after base64 encoding (https://docs.aws.amazon.com/ses/latest/
# dg/quotas.html), no line of it over 1,000 characters (RFC 5321;
# https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_RawMessage.html).
SES_MESSAGE_MAX_BYTES = 40 * MB
SES_LINE_MAX_CHARS = 1000
# SSM PutParameter: a standard parameter's value at most 4 KB, an advanced one's 8 KB
# (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html).
SSM_VALUE_MAX_CHARS = {"Standard": 4 * KB, "Advanced": 8 * KB}
# CloudFront KeyValueStore: a key at most 512 bytes, a value at most 1 KB (https://docs.aws.amazon.com/
# AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-keyvaluestore); the service model allows
# longer keys.
KVS_KEY_MAX_BYTES = 512
KVS_VALUE_MAX_BYTES = 1 * KB
# Beyond these: botocore's service models carry AWS's documented maximum lengths (`max`), such as KMS Sign's
# Message of at most 4,096 bytes (API_Sign above), TransactWriteItems' 100 actions and Secrets Manager's
# SecretString of at most 65,536 bytes (https://docs.aws.amazon.com/secretsmanager/latest/apireference/
# API_CreateSecret.html). botocore itself checks only the minimums (so Query's Limit >= 1 is its own check),
# and moto neither: `model_problems` checks the maximums.

_EXPRESSIONS = (
    "UpdateExpression",
    "ConditionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
)
_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")
_TRANSACT_ACTIONS = ("Put", "Update", "Delete", "ConditionCheck")


def model_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    """Every value over the `max` its service model documents for it."""
    limit = shape.metadata.get("max")
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in value.items():
            if name in shape.members:
                yield from model_problems(shape.members[name], member, f"{path}.{name}")
        return
    if shape.type_name == "list":
        for i, member in enumerate(value):
            yield from model_problems(shape.member, member, f"{path}[{i}]")
    elif shape.type_name == "map":
        for key, member in value.items():
            yield from model_problems(shape.value, member, f"{path}.{key}")
    if limit is None:
        return
    if shape.type_name in ("integer", "long"):
        size = value
    elif shape.type_name == "blob" and isinstance(value, str):
        size = len(value.encode())
    else:
        size = len(value)
    if size > limit:
        yield f"{path}: {size} is over its documented maximum of {limit}"


def _number_bytes(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_bytes(value: dict) -> int:
    """One attribute value's size, as DynamoDB counts it (CapacityUnitCalculations.html)."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_bytes(inner)
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(_number_bytes(n) for n in inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_bytes(v) for v in inner)
    return 3 + sum(1 + len(k.encode()) + value_bytes(v) for k, v in inner.items())  # M


def item_bytes(item: dict) -> int:
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def levels(value: dict) -> int:
    """How many levels deep a value nests (a scalar is one level)."""
    (kind, inner), *_ = value.items()
    if kind == "L":
        return 1 + max((levels(v) for v in inner), default=0)
    if kind == "M":
        return 1 + max((levels(v) for v in inner.values()), default=0)
    return 1


def item_problems(item: dict, where: str) -> Iterator[str]:
    size = item_bytes(item)
    if size > ITEM_MAX_BYTES:
        yield f"{where}: an item of {size} bytes is over DynamoDB's {ITEM_MAX_BYTES}"
    for name, value in item.items():
        if levels(value) > NESTING_MAX_LEVELS:
            yield f"{where}: attribute {name} nests over DynamoDB's {NESTING_MAX_LEVELS} levels"


def expression_problems(request: dict, where: str) -> Iterator[str]:
    """One request's (or transaction action's) expressions and their placeholders."""
    expressions = [request[k] for k in _EXPRESSIONS if k in request]
    names = request.get("ExpressionAttributeNames", {})
    values = request.get("ExpressionAttributeValues", {})
    for text in expressions:
        if len(text.encode()) > EXPRESSION_MAX_BYTES:
            yield f"{where}: an expression of {len(text.encode())} bytes is over DynamoDB's {EXPRESSION_MAX_BYTES}"
        for operands in re.findall(r"\bIN\s*\(([^)]*)\)", text):
            if operands.count(",") + 1 > IN_MAX_OPERANDS:
                yield f"{where}: IN with over {IN_MAX_OPERANDS} operands"
    used = {p for text in expressions for p in _PLACEHOLDER.findall(text)}
    defined = set(names) | set(values)
    if unused := defined - used:
        yield f"{where}: ExpressionAttributeNames/Values that no expression uses: {sorted(unused)}"
    if undefined := used - defined:
        yield f"{where}: placeholders that no ExpressionAttributeNames/Values defines: {sorted(undefined)}"
    if long := [p for p in defined if len(p.encode()) > PLACEHOLDER_MAX_BYTES]:
        yield f"{where}: placeholders over {PLACEHOLDER_MAX_BYTES} bytes: {long}"
    substitutions = sum(len(k.encode()) + len(v.encode()) for k, v in names.items())
    substitutions += sum(len(k.encode()) + value_bytes(v) for k, v in values.items())
    if substitutions > SUBSTITUTIONS_MAX_BYTES:
        yield f"{where}: {substitutions} bytes of substitution variables, over DynamoDB's {SUBSTITUTIONS_MAX_BYTES}"
    for name, value in values.items():
        if levels(value) > NESTING_MAX_LEVELS:
            yield f"{where}: value {name} nests over DynamoDB's {NESTING_MAX_LEVELS} levels"


def dynamodb_problems(operation: str, params: dict) -> Iterator[str]:
    if operation == "TransactWriteItems":
        seen: set[tuple] = set()
        total = 0
        for i, entry in enumerate(params["TransactItems"]):
            (kind, action), *_ = entry.items()
            where = f"TransactItems[{i}].{kind}"
            key = action.get("Key") or {k: action["Item"][k] for k in ("pk", "sk") if k in action["Item"]}
            identity = (action["TableName"], repr(sorted(key.items())))
            if identity in seen:
                yield f"{where}: a second action on the same item in one transaction"
            seen.add(identity)
            if kind == "Put":
                yield from item_problems(action["Item"], where)
                total += item_bytes(action["Item"])
            else:
                values = action.get("ExpressionAttributeValues", {}).values()
                total += item_bytes(key) + sum(value_bytes(v) for v in values)
            yield from expression_problems(action, where)
        if total > TRANSACTION_MAX_BYTES:
            yield f"TransactItems: {total} bytes in all, over DynamoDB's {TRANSACTION_MAX_BYTES}"
        return
    if operation == "PutItem":
        yield from item_problems(params["Item"], "Item")
    yield from expression_problems(params, operation)


def kms_problems(operation: str, params: dict) -> Iterator[str]:
    if operation in ("Sign", "Verify") and params.get("MessageType") == "DIGEST":
        expected = DIGEST_BYTES.get(params["SigningAlgorithm"].rsplit("_", 1)[-1])
        if expected is not None and len(params["Message"]) != expected:
            yield f"Message: a {params['SigningAlgorithm']} digest is {expected} bytes, not {len(params['Message'])}"


def sesv2_problems(operation: str, params: dict) -> Iterator[str]:
    raw = params.get("Content", {}).get("Raw")
    if operation != "SendEmail" or raw is None:
        return
    data = raw["Data"]
    encoded = 4 * -(-len(data) // 3)
    if encoded > SES_MESSAGE_MAX_BYTES:
        yield f"Content.Raw.Data: {encoded} bytes base64-encoded, over SES v2's {SES_MESSAGE_MAX_BYTES}"
    if any(len(line) > SES_LINE_MAX_CHARS for line in data.splitlines()):
        yield f"Content.Raw.Data: a line over {SES_LINE_MAX_CHARS} characters"


def ssm_problems(operation: str, params: dict) -> Iterator[str]:
    if operation == "PutParameter":
        limit = SSM_VALUE_MAX_CHARS.get(params.get("Tier", "Standard"), SSM_VALUE_MAX_CHARS["Advanced"])
        if len(params["Value"]) > limit:
            yield f"Value: {len(params['Value'])} characters, over {limit} for its tier"


def keyvaluestore_problems(operation: str, params: dict) -> Iterator[str]:
    entries = params.get("Puts", []) if operation == "UpdateKeys" else [params] if operation == "PutKey" else []
    for entry in entries:
        if len(entry["Key"].encode()) > KVS_KEY_MAX_BYTES:
            yield f"Key: over the KeyValueStore's {KVS_KEY_MAX_BYTES} bytes"
        if len(entry["Value"].encode()) > KVS_VALUE_MAX_BYTES:
            yield f"Value of {entry['Key']}: over the KeyValueStore's {KVS_VALUE_MAX_BYTES} bytes"


_SERVICES: dict[str, Callable[[str, dict], Iterator[str]]] = {
    "cloudfront-keyvaluestore": keyvaluestore_problems,
    "dynamodb": dynamodb_problems,
    "kms": kms_problems,
    "sesv2": sesv2_problems,
    "ssm": ssm_problems,
}


def problems(model: OperationModel, params: dict) -> list[str]:
    """Why AWS would refuse this call (nothing when it would not)."""
    found = list(model_problems(model.input_shape, params, model.name)) if model.input_shape else []
    check = _SERVICES.get(model.service_model.service_name)
    if check is not None:
        found += check(model.name, params)
    return found


def stored_problems(table: str, keys: list[dict]) -> list[str]:
    """Whether items the call just wrote are larger or deeper than DynamoDB stores (an UpdateItem can grow an
    item past the limit, and DynamoDB refuses it), read from the in-process moto that holds them, if any."""
    from moto.dynamodb.models import dynamodb_backends

    from local.stack import ACCOUNT_ID, REGION

    backend = dynamodb_backends[ACCOUNT_ID][REGION]
    if table not in backend.tables:
        return []
    found = []
    for key in keys:
        item = backend.get_item(table, key)
        if item is not None:
            found += item_problems(item.to_json()["Attributes"], f"the stored item {key}")
    return found


def _written(operation: str, params: dict) -> list[tuple[str, dict]]:
    """(table, key) of each item a DynamoDB call writes."""
    if operation in ("PutItem", "UpdateItem"):
        key = params.get("Key") or {k: v for k, v in params["Item"].items() if k in ("pk", "sk")}
        return [(params["TableName"], key)]
    if operation == "TransactWriteItems":
        return [
            (action["TableName"], action["Key"])
            for entry in params["TransactItems"]
            for kind, action in entry.items()
            if kind == "Update"
        ]
    return []


class Refusals:
    """What the calls of the running test would have been refused (the checks append from any thread)."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self._lock = threading.Lock()

    def add(self, operation: str, reasons: list[str]) -> None:
        with self._lock:
            self.found += [f"{operation}: {reason}" for reason in reasons]


CURRENT = Refusals()


def _check(params: dict, model: OperationModel, context: dict, **_: Any) -> None:
    found = problems(model, params)
    if found:
        CURRENT.add(model.name, found)
        error = {"Code": "ValidationException", "Message": "; ".join(found)}
        raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, model.name)
    context["strict_aws_written"] = (
        _written(model.name, params) if model.service_model.service_name == "dynamodb" else []
    )


def _check_stored(http_response: Any, model: OperationModel, context: dict, **_: Any) -> None:
    if http_response.status_code < 300:
        for table, key in context.get("strict_aws_written", []):
            CURRENT.add(model.name, stored_problems(table, [key]))


def install(client: Any) -> None:
    """Check every call this client makes (tests/conftest.py calls it for every client created)."""
    client.meta.events.register("before-parameter-build", _check)
    client.meta.events.register("after-call", _check_stored)


@contextmanager
def refusals() -> Iterator[Refusals]:
    """The refusals of the calls made inside, collected afresh."""
    global CURRENT
    previous, CURRENT = CURRENT, Refusals()
    try:
        yield CURRENT
    finally:
        CURRENT = previous


@pytest.fixture(autouse=True)
def strict_aws() -> Iterator[Refusals]:
    """Every AWS call a test makes is checked against the limits above: a call AWS would refuse is refused,
    and fails the test that made it, even where the code caught the refusal. A test that makes one on
    purpose clears `strict_aws.found` once it has looked."""
    with refusals() as refused:
        yield refused
    if refused.found:
        pytest.fail("AWS would refuse calls this test made:\n  " + "\n  ".join(refused.found), pytrace=False)
