"""template.yaml: what is deployed, and that functions get only the permissions they use."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from local.cfn import ROOT, Template

TEMPLATE = Template()
RESOURCES = TEMPLATE.resources
FUNCTIONS = TEMPLATE.functions()


def _statements(logical_id: str) -> list[dict]:
    """The function's inline statements and those of the managed policies it attaches."""
    found = []
    for policy in RESOURCES[logical_id]["Properties"]["Policies"]:
        if "Ref" in policy:
            policy = RESOURCES[policy["Ref"]]["Properties"]["PolicyDocument"]
        found += [s["Fn::If"][1] if "Fn::If" in s else s for s in policy["Statement"]]
    return found


def _actions(logical_id: str) -> set[str]:
    found = set()
    for statement in _statements(logical_id):
        actions = statement["Action"]
        found |= {actions} if isinstance(actions, str) else set(actions)
    return found


def test_functions_run_python_313_on_arm64_with_the_shared_layer():
    globals_ = TEMPLATE.doc["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Layers"] == [{"Ref": "MagicLinkLayer"}]
    layer = RESOURCES["MagicLinkLayer"]
    # Built by layers/magiclink/Makefile and functions/Makefile, with bytecode (tests/infrastructure/test_build.py)
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layers/magiclink/"
    assert (ROOT / "layers" / "magiclink" / "Makefile").is_file()
    for name, resource in TEMPLATE.of_type("AWS::Serverless::Function").items():
        assert resource["Metadata"] == {"BuildMethod": "makefile", "ContextPath": "functions"}, name
    assert (ROOT / "functions" / "Makefile").is_file()


def test_the_api_routes_are_stytchs_and_each_has_its_own_function():
    routes = {f"{r.method} {r.path}": fn.logical_id for fn in FUNCTIONS.values() for r in fn.routes}
    assert routes == {
        "POST /v1/magic_links/email/invite": "InviteFunction",
        "POST /v1/magic_links/email/send": "InviteFunction",
        "POST /v1/magic_links/authenticate": "AuthenticateFunction",
        "POST /v1/magic_links/email/revoke_invite": "RevokeFunction",
        "GET /v1/readers": "ReadersFunction",
        "DELETE /v1/readers/{email}": "ReadersFunction",
        "POST /v1/readers/{email}/links": "ReadersFunction",
        "POST /v1/readers/{email}/links/deactivate": "ReadersFunction",
        "POST /v1/magic_links/email/request": "RequestFunction",
        "GET /access": "RequestFunction",
        "POST /access": "RequestFunction",
        "GET /v1/access_requests/grant": "RequestFunction",
        "POST /v1/access_requests/grant": "RequestFunction",
        "GET /v1/magic_links/redirect": "LandingFunction",
        "HEAD /v1/magic_links/redirect": "LandingFunction",
        "POST /v1/magic_links/redirect": "LandingFunction",
        "POST /v1/sessions/authenticate": "SessionsFunction",
        "POST /v1/sessions/revoke": "SessionsFunction",
        "GET /v1/sessions/jwks/{project_id}": "JwksFunction",
        "ANY /console": "ConsoleFunction",
        "ANY /console/{proxy+}": "ConsoleFunction",
    }
    assert FUNCTIONS["CleanupFunction"].schedule == {"Ref": "CleanupSchedule"}


def test_every_route_has_a_sample_event_and_every_event_a_route():
    routes = {f"{r.method} {r.path}" for fn in FUNCTIONS.values() for r in fn.routes}
    events = [json.loads(p.read_text()) for p in sorted((ROOT / "events").glob("*.json"))]
    api_events = {e["routeKey"] for e in events if e.get("version") == "2.0"}
    assert api_events == routes
    assert any(e.get("detail-type") == "Scheduled Event" for e in events)


def test_the_table_is_on_demand_with_ttl_point_in_time_recovery_and_the_expiry_index():
    props = RESOURCES["Table"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in props["GlobalSecondaryIndexes"]}
    assert indexes == {
        "by_expiry": ["expiry_bucket", "ttl"],
        "by_email": ["list_partition", "email"],
        "by_due": ["due_bucket", "due_at"],
    }


@pytest.mark.parametrize(
    ("function", "allowed"),
    [
        (
            "InviteFunction",
            {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
            | {"secretsmanager:GetSecretValue"}
            | {"ses:SendEmail", "ses:SendRawEmail"},
        ),
        (
            "AuthenticateFunction",
            {"dynamodb:UpdateItem", "secretsmanager:GetSecretValue", "kms:Sign", "kms:GetPublicKey"},
        ),
        (
            "LandingFunction",
            {"dynamodb:GetItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"}
            | {"kms:Sign", "kms:GetPublicKey"},
        ),
        (
            "SessionsFunction",
            {"dynamodb:GetItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"}
            | {"kms:Sign", "kms:GetPublicKey"},
        ),
        ("JwksFunction", {"secretsmanager:GetSecretValue", "kms:GetPublicKey"}),
        (
            "ReadersFunction",
            {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query", "secretsmanager:GetSecretValue"}
            | {"ses:SendEmail", "ses:SendRawEmail"},
        ),
        (
            "RequestFunction",
            {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"}
            | {"ses:SendEmail", "ses:SendRawEmail"},
        ),
        ("RevokeFunction", {"dynamodb:GetItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"}),
        ("CleanupFunction", {"dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:UpdateItem"}),
        ("MailEventsFunction", {"dynamodb:GetItem", "dynamodb:UpdateItem"}),
        (
            "ConsoleFunction",
            {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}
            | {"secretsmanager:GetSecretValue", "ses:SendEmail", "ses:SendRawEmail", "kms:Sign", "kms:GetPublicKey"},
        ),
        (
            "BootstrapFunction",
            {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"}
            | {"ses:SendEmail", "ses:SendRawEmail"},
        ),
    ],
)
def test_each_function_gets_exactly_the_actions_it_calls(function, allowed):
    assert function in FUNCTIONS
    assert _actions(function) == allowed
    for statement in _statements(function):
        assert statement["Resource"] != "*"


def test_only_functions_that_make_or_check_tokens_read_the_token_key():
    readers = {
        fid
        for fid in FUNCTIONS
        if any(
            "secretsmanager:GetSecretValue" in str(s.get("Action"))
            and {"Ref": "TokenKeySecret"} in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
            for s in _statements(fid)
        )
    }
    # The token key hashes link and session tokens and signs cursors and grant links; nothing else sees it.
    assert readers == {
        "InviteFunction",
        "AuthenticateFunction",
        "ReadersFunction",
        "RequestFunction",
        "LandingFunction",
        "SessionsFunction",
        "ConsoleFunction",
        "BootstrapFunction",
    }


def test_secrets_are_generated_never_plain_parameters_or_environment():
    for name in ("CredentialsSecret", "TokenKeySecret"):
        assert "GenerateSecretString" in RESOURCES[name]["Properties"]
    env = TEMPLATE.doc["Globals"]["Function"]["Environment"]["Variables"]
    assert env["CREDENTIALS_SECRET_ID"] == {"Ref": "CredentialsSecret"}
    assert all(k.endswith("_SECRET_ID") for k in env if "SECRET" in k)


def _imports(source: str) -> set[str]:
    """Every module a source imports; a relative import is read as `magiclink.` + its module."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ("magiclink." if node.level else "") + (node.module or "")
            names.add(base.rstrip("."))
            names |= {f"{base.rstrip('.')}.{a.name}" for a in node.names}
    return names


def test_only_store_mailer_and_signing_import_boto3():
    package = ROOT / "layers" / "magiclink" / "magiclink"
    importers = set()
    for path in package.rglob("*.py"):
        if any(n.split(".")[0] == "boto3" for n in _imports(path.read_text())):
            importers.add(path.relative_to(package).parts[0])
    assert importers == {"store", "mailer.py", "signing.py"}  # one module per AWS service


def test_handlers_are_thin():
    """Each route parses, calls the logic and returns a model: a few lines, never boto3, never the data layer."""
    for fn in FUNCTIONS.values():
        source = (Path(fn.code_uri) / "app.py").read_text()
        imported = _imports(source)
        assert not any(n.split(".")[0] in ("boto3", "botocore") for n in imported), fn.logical_id
        assert not any(n == "magiclink.store" or n.startswith("magiclink.store.") for n in imported), fn.logical_id
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef):
                body_lines = node.end_lineno - node.body[0].lineno + 1
                assert body_lines <= 12, f"{fn.logical_id}.{node.name} is {body_lines} lines"


def test_every_function_is_in_the_least_privilege_table():
    table = test_each_function_gets_exactly_the_actions_it_calls.pytestmark[0].args[1]
    assert {name for name, _ in table} == set(FUNCTIONS)


def test_bounces_and_complaints_reach_a_function_with_a_dead_letter_queue():
    destination = RESOURCES["ConfigurationSetEvents"]["Properties"]["EventDestination"]
    assert set(destination["MatchingEventTypes"]) == {"bounce", "complaint"}
    assert destination["SnsDestination"]["TopicARN"] == {"Ref": "MailEventsTopic"}
    mail_events = RESOURCES["MailEventsFunction"]["Properties"]
    assert mail_events["Events"]["MailEvents"]["Properties"]["Topic"] == {"Ref": "MailEventsTopic"}
    assert mail_events["DeadLetterQueue"]["Type"] == "SQS"


def test_alarms_cover_errors_throttles_bounces_and_cleanup_and_can_notify():
    alarms = TEMPLATE.of_type("AWS::CloudWatch::Alarm")
    assert set(alarms) >= {
        "ApiErrorRateAlarm",
        "TableThrottleAlarm",
        "FunctionThrottleAlarm",
        "BounceRateAlarm",
        "CleanupFailureAlarm",
    }
    assert alarms["BounceRateAlarm"]["Properties"]["Threshold"] == 0.05
    assert alarms["ApiErrorRateAlarm"]["Properties"]["MetricName"] == "5xx"
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"]["Fn::If"][0] == "HasAlarmEmail"
    assert RESOURCES["AlarmTopic"]["Condition"] == "HasAlarmEmail"


def test_tracing_is_off_by_default_and_switchable():
    assert TEMPLATE.parameters["EnableTracing"] == "false"
    globals_ = TEMPLATE.doc["Globals"]["Function"]
    assert globals_["Tracing"] == {"Fn::If": ["TracingOn", "Active", "PassThrough"]}
    assert globals_["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == {
        "Fn::If": ["TracingOn", "false", "true"]
    }


def test_logs_and_metrics_are_powertools_with_one_namespace():
    env = TEMPLATE.doc["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "MagicLink"
    assert env["POWERTOOLS_SERVICE_NAME"] == "magiclink"


def test_the_asynchronously_invoked_functions_have_dead_letter_queues():
    for name in ("CleanupFunction", "MailEventsFunction"):
        assert RESOURCES[name]["Properties"]["DeadLetterQueue"]["Type"] == "SQS", name


def test_every_function_has_a_timeout_and_memory_and_no_send_outlives_the_delivery_grace():
    from magiclink.models.items import DELIVERY_GRACE_SECONDS

    globals_ = TEMPLATE.doc["Globals"]["Function"]
    functions = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
    for name, resource in functions.items():
        timeout = resource["Properties"].get("Timeout", globals_["Timeout"])
        memory = resource["Properties"].get("MemorySize", globals_["MemorySize"])
        assert 128 <= memory <= 2048, name
        if resource["Properties"].get("Events", {}) and any(
            e["Type"] == "HttpApi" for e in resource["Properties"]["Events"].values()
        ):
            assert timeout <= 29, f"{name}: API Gateway gives up after 30 s"
        if name != "CleanupFunction":  # the one function that sends no link
            # A link left 'sending' reads as not delivered only once no function could still be sending it
            assert timeout < DELIVERY_GRACE_SECONDS, name
        assert timeout <= 900, name
