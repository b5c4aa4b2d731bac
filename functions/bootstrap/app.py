"""CloudFormation custom resource: on deploy, invite the first admin (AdminEmail) to the console,
unless that email is already a reader. Always answers CloudFormation, so a failure never hangs a stack."""

import json
import urllib.request
from typing import Any

from magiclink import grants, links
from magiclink.models.requests import InviteRequest
from magiclink.observability import logger


def invite_first_admin(email: str) -> str:
    if not email:
        return "no AdminEmail"
    request = InviteRequest(email=email)
    if grants.reader_exists(request.email):
        return "already a reader"
    invite = InviteRequest(
        email=email, role="admin", invite_magic_link_url=links.console_callback_url(), invite_expiration_minutes=10080
    )
    grants.invite(invite, by="deploy")
    return "invited"


def _answer(event: dict, context: Any, status: str, reason: str) -> None:
    body = {
        "Status": status,
        "Reason": reason[:200],
        "PhysicalResourceId": event.get("PhysicalResourceId") or "first-admin",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }
    request = urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(), method="PUT")  # noqa: S310 - the URL is CloudFormation's
    request.add_header("Content-Type", "")
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - CloudFormation's pre-signed S3 URL


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> None:
    try:
        outcome = "nothing to do on delete"
        if event["RequestType"] in ("Create", "Update"):
            outcome = invite_first_admin(event["ResourceProperties"].get("AdminEmail", ""))
        logger.info("first admin", extra={"outcome": outcome})
        _answer(event, context, "SUCCESS", outcome)
    except Exception as exc:  # report, never leave CloudFormation waiting
        logger.exception("first admin invite failed")
        _answer(event, context, "FAILED", f"{type(exc).__name__}: {exc}")
