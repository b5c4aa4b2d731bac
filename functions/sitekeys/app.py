"""CloudFormation custom resource SiteKeys: on Create and Update, the private site's KeyValueStore gets
every site key sitecookie accepts and loses those it no longer does (magiclink.edgekeys). Run it again after
rotating the token key: a stack update with a new SiteKeysVersion (docs/private-site.md#keys-and-rotation).
crhelper answers CloudFormation (FAILED with a short reason on an error, or just before a timeout)."""

from typing import Any

from crhelper import CfnResource

from magiclink import edgekeys
from magiclink.observability import logger

PHYSICAL_ID = "site-keys"

# As functions/bootstrap: crhelper's own logging at WARNING, so the event (with its pre-signed URL) is never
# dumped; no polling, and nothing to wait for on delete.
helper = CfnResource(json_logging=False, log_level="WARNING", boto_level="WARNING", sleep_on_delete=0)


@helper.create
@helper.update
def _publish(event: dict, context: Any) -> str:
    helper.PhysicalResourceId = event.get("PhysicalResourceId") or PHYSICAL_ID
    try:
        changes = edgekeys.publish(event["ResourceProperties"]["KeyValueStoreArn"])
    except Exception as exc:
        logger.exception("site keys not published")
        raise RuntimeError(f"{type(exc).__name__}: {exc}"[:200]) from exc
    logger.info("site keys published", extra=changes)
    helper.Reason = f"{len(changes['put'])} put, {len(changes['deleted'])} deleted"
    return helper.PhysicalResourceId


@helper.delete
def _delete(event: dict, context: Any) -> None:
    helper.Reason = "nothing to do on delete: the store goes with the stack"


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: Any) -> None:
    helper(event, context)
