"""CloudFormation custom resource: on deploy, invite the first admin (AdminEmail) to the console,
unless that email is already a reader. crhelper answers CloudFormation: SUCCESS, FAILED with a short reason
on any error, and FAILED half a second before the Lambda would time out, so a stack never waits on it."""

from typing import Any

from crhelper import CfnResource

from magiclink import grants, links, revocation, settings
from magiclink.models.requests import InviteRequest
from magiclink.observability import logger

PHYSICAL_ID = "first-admin"

# The powertools logger writes this function's log lines. crhelper only sets the root logger's level (no
# JSON formatter of its own): WARNING, Python's default, passes its errors and never its DEBUG dump of the
# event with CloudFormation's pre-signed URL. No polling; a Delete has nothing to wait for, so no sleep.
helper = CfnResource(json_logging=False, log_level="WARNING", boto_level="WARNING", sleep_on_delete=0)


def invite_first_admin(email: str) -> str:
    if not email:
        return "no AdminEmail"
    request = InviteRequest(email=email)
    if revocation.reader_exists(request.email):
        return "already a reader"
    invite = InviteRequest(
        email=email, role="admin", invite_magic_link_url=links.console_callback_url(), invite_expiration_minutes=10080
    )
    grants.invite(invite, by="deploy")
    return "invited"


@helper.create
@helper.update
def _invite(event: dict, context: Any) -> str:
    # Set first, so that a FAILED answer (an error, or crhelper's timer) names the same resource.
    helper.PhysicalResourceId = event.get("PhysicalResourceId") or PHYSICAL_ID
    try:
        settings.learn_public_base_url(event["ResourceProperties"].get("ApiUrl", ""))  # for the emailed link
        outcome = invite_first_admin(event["ResourceProperties"].get("AdminEmail", ""))
    except Exception as exc:
        logger.exception("first admin invite failed")
        raise RuntimeError(f"{type(exc).__name__}: {exc}"[:200]) from exc  # crhelper answers FAILED with it
    logger.info("first admin", extra={"outcome": outcome})
    helper.Reason = outcome
    return helper.PhysicalResourceId


@helper.delete
def _delete(event: dict, context: Any) -> None:
    logger.info("first admin", extra={"outcome": "nothing to do on delete"})
    helper.Reason = "nothing to do on delete"  # the event's PhysicalResourceId is kept


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> None:
    helper(event, context)
