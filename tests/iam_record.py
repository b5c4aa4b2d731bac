"""The IAM permissions each function's AWS calls need, recorded while the tests run, and what template.yaml
grants each function: tests/infrastructure/test_template.py compares the two.

A call is recorded under the function whose lambda_handler is running (`running`, which tests/conftest.py's
`functions` sets around each invocation) as (action, resource) pairs, the way IAM authorizes it.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from email.utils import parseaddr
from typing import Any

from botocore.model import OperationModel

from local import stack
from local.cfn import NO_VALUE, Template, condition, resolve

# What IAM calls the deployment's KMS keys: the key that signs (the template's own SessionSigningKey, or
# SessionSigningKeyArn) and the previous one, still verifying during a rotation (PreviousSessionSigningKeyArn).
SIGNING_KEY = "SessionSigningKey"
PREVIOUS_SIGNING_KEY = "PreviousSessionSigningKey"
# TransactWriteItems is authorized action by action, as the single-item call each one is
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}

_running: ContextVar[str | None] = ContextVar("running", default=None)
_lock = threading.Lock()
RECORD: dict[str, set[tuple[str, str]]] = defaultdict(set)


@contextmanager
def running(function: str) -> Iterator[None]:
    """AWS calls made inside are the calls of this function (a template logical id)."""
    token = _running.set(function)
    try:
        yield
    finally:
        _running.reset(token)


def _table_arn(region: str, table: str) -> str:
    return f"arn:aws:dynamodb:{region}:{stack.ACCOUNT_ID}:table/{table}"


def _ses_identity(region: str, sender: str) -> str:
    """The SES identity a send from `sender` is authorized on: the address, when it is itself a verified
    identity, else its domain (https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html)."""
    from moto.ses.models import ses_backends

    address = parseaddr(sender)[1]
    verified = ses_backends[stack.ACCOUNT_ID][region].email_identities
    identity = address if address in verified else address.rpartition("@")[2]
    return f"arn:aws:ses:{region}:{stack.ACCOUNT_ID}:identity/{identity}"


def permissions(model: OperationModel, params: dict, region: str) -> set[tuple[str, str]]:
    """(IAM action, resource) of each permission the call needs."""
    service, operation = model.service_model.service_name, model.name
    prefix = model.service_model.signing_name
    if service == "dynamodb" and operation == "TransactWriteItems":
        return {
            (f"dynamodb:{_TRANSACT_ACTIONS[kind]}", _table_arn(region, action["TableName"]))
            for entry in params["TransactItems"]
            for kind, action in entry.items()
        }
    if service == "dynamodb":
        arn = _table_arn(region, params["TableName"])
        # A Query (or Scan) of an index is authorized on the index's ARN
        # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).
        return {(f"dynamodb:{operation}", f"{arn}/index/{params['IndexName']}" if "IndexName" in params else arn)}
    if service == "kms":
        keys = os.environ.get("SESSION_SIGNING_KEY_IDS", "").split(",")
        return {(f"kms:{operation}", SIGNING_KEY if params["KeyId"] == keys[0] else PREVIOUS_SIGNING_KEY)}
    if service == "secretsmanager":
        return {(f"secretsmanager:{operation}", params["SecretId"])}
    if service == "sesv2" and operation == "SendEmail":
        # SES v2's SendEmail is ses:SendEmail, and a raw message is authorized as ses:SendRawEmail too (AWS
        # refuses one without it, naming that action); each on the sending identity and the configuration set
        # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsimpleemailservicev2.html).
        actions = ["ses:SendEmail"] + (["ses:SendRawEmail"] if "Raw" in params["Content"] else [])
        resources = [_ses_identity(region, params["FromEmailAddress"])]
        if "ConfigurationSetName" in params:
            resources.append(
                f"arn:aws:ses:{region}:{stack.ACCOUNT_ID}:configuration-set/{params['ConfigurationSetName']}"
            )
        return {(action, resource) for action in actions for resource in resources}
    return {(f"{prefix}:{operation}", "*")}  # a service the template grants nothing of: always missing


def install(client: Any) -> None:
    """Record every call this client makes while a function runs."""
    region = client.meta.region_name

    def record(params: dict, model: OperationModel, **_: Any) -> None:
        function = _running.get()
        if function is not None:
            needed = permissions(model, params, region)
            with _lock:
                RECORD[function] |= needed

    client.meta.events.register("before-parameter-build", record)


def _refs(template: Template, parameters: dict[str, str] | None = None) -> dict[str, str]:
    """The template's references as the local stack resolves them, with the signing keys named by their
    role and a previous key present, so that the grants of a rotation are compared too; `parameters` are
    deployment parameters other than the defaults (SiteProtection=true)."""
    names = stack.local_names()
    return (
        template.parameters
        | (parameters or {})
        | names
        | {
            "AWS::Region": stack.REGION,
            "AWS::AccountId": stack.ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": "magiclink-local",
            "SiteKeyValueStore.Arn": f"arn:aws:cloudfront::{stack.ACCOUNT_ID}:key-value-store/local",
            "AWS::NoValue": NO_VALUE,
            "Table.Arn": _table_arn(stack.REGION, names["Table"]),
            "SessionSigningKey.Arn": SIGNING_KEY,
            "PreviousSessionSigningKeyArn": PREVIOUS_SIGNING_KEY,
        }
    )


def exists(template: Template, logical_id: str) -> bool:
    """Whether the resource is deployed with the template's defaults (its Condition, if any, holds)."""
    name = template.resources[logical_id].get("Condition")
    conditions = template.doc.get("Conditions", {})
    return name is None or condition(conditions[name], _refs(template), conditions)


def statements(template: Template, function: str, parameters: dict[str, str] | None = None) -> list[dict]:
    """The function's policy statements, inline and from the managed policies it attaches, those whose
    condition holds (with the defaults, or these `parameters`)."""
    refs, conditions = _refs(template, parameters), template.doc.get("Conditions", {})
    found = []
    for policy in template.resources[function]["Properties"].get("Policies", []):
        if "Fn::If" in policy:  # a managed policy attached only under a condition
            name, if_true, if_false = policy["Fn::If"]
            policy = if_true if condition(conditions[name], refs, conditions) else if_false
            if policy == {"Ref": "AWS::NoValue"}:
                continue
        if "Ref" in policy:
            policy = template.resources[policy["Ref"]]["Properties"]["PolicyDocument"]
        for statement in policy["Statement"]:
            if "Fn::If" in statement:
                name, if_true, if_false = statement["Fn::If"]
                statement = if_true if condition(conditions[name], refs, conditions) else if_false
            if statement != {"Ref": "AWS::NoValue"}:
                found.append(statement)
    return found


def granted(template: Template, function: str, parameters: dict[str, str] | None = None) -> set[tuple[str, str]]:
    """(action, resource) of each permission the template grants the function (with the defaults, or these
    `parameters`)."""
    refs, conditions = _refs(template, parameters), template.doc.get("Conditions", {})
    pairs = set()
    for statement in statements(template, function, parameters):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        pairs |= {(action, resolve(resource, refs, conditions)) for action in actions for resource in resources}
    return pairs
