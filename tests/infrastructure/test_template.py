"""template.yaml: what is deployed, and that functions get only the permissions they use."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import iam_record
import pytest

from local import stack
from local.cfn import ROOT, Template

TEMPLATE = Template()
RESOURCES = TEMPLATE.resources
FUNCTIONS = TEMPLATE.functions()
EDGE_SECRET = stack.local_names()["SiteEdgeSecret"]


def _granted(function: str) -> set[tuple[str, str]]:
    """What the template grants the function as deployed by default, and the reads of the site's edge secret that
    SiteProtection=true grants: only that deployment sets EDGE_SECRET_ID, as the tests of the client's IP behind
    the site do (tests/infrastructure/test_site_template.py checks those grants against the record)."""
    site = iam_record.granted(TEMPLATE, function, {"SiteProtection": "true"})
    return iam_record.granted(TEMPLATE, function) | {pair for pair in site if pair[1] == EDGE_SECRET}


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
        "POST /v1/magic_links/email/login_or_create": "InviteFunction",
        "POST /v1/magic_links": "InviteFunction",
        "POST /v1/otps/email/send": "InviteFunction",
        "POST /v1/otps/email/login_or_create": "InviteFunction",
        "POST /v1/otps/authenticate": "AuthenticateFunction",
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
        "GET /_site/refresh": "SiteFunction",
        "POST /_site/sign-out": "SiteFunction",
        "POST /v1/sessions/authenticate": "SessionsFunction",
        "POST /v1/sessions/revoke": "SessionsFunction",
        "GET /v1/sessions": "SessionsFunction",
        "GET /v1/sessions/jwks/{project_id}": "JwksFunction",
        "POST /v1/users": "UsersFunction",
        "POST /v1/users/search": "UsersFunction",
        "GET /v1/users/{user_id}": "UsersFunction",
        "PUT /v1/users/{user_id}": "UsersFunction",
        "DELETE /v1/users/{user_id}": "UsersFunction",
        "ANY /console": "ConsoleFunction",
        "ANY /console/{proxy+}": "ConsoleFunction",
        "ANY $default": "FallbackFunction",
    }
    assert FUNCTIONS["CleanupFunction"].schedule == {"Ref": "CleanupSchedule"}


def test_every_route_has_a_sample_event_and_every_event_a_route():
    # API Gateway's route key: "<METHOD> <path>", and the default route's is just "$default"
    routes = {
        r.path if r.path == "$default" else f"{r.method} {r.path}" for fn in FUNCTIONS.values() for r in fn.routes
    }
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
        "by_email_id": ["email_id"],
    }


def test_every_aws_call_a_function_made_is_granted_to_it(recorded_aws_calls):
    """A missing permission (the most common first-deploy failure of a SAM app) fails here: each AWS call a
    function made while the tests ran (tests/iam_record.py) is one the template grants that function."""
    if not recorded_aws_calls.calls:
        pytest.skip("no function ran in this session: run tests/integration with it (make test does)")
    missing = {function: sorted(needed - _granted(function)) for function, needed in recorded_aws_calls.calls.items()}
    assert {function: pairs for function, pairs in missing.items() if pairs} == {}


def test_nothing_is_granted_that_no_test_exercised(recorded_aws_calls):
    """Least privilege, derived from what the code does: each function is granted only the calls the whole
    integration suite saw it make, each on its own resource, never on every resource."""
    if not recorded_aws_calls.complete:
        pytest.skip("needs the whole of tests/integration in the same run (make test runs it)")
    unused = {
        function: sorted(iam_record.granted(TEMPLATE, function) - recorded_aws_calls.calls.get(function, set()))
        for function in FUNCTIONS
        if iam_record.exists(TEMPLATE, function)  # the private site's key publisher: test_site_template.py
    }
    assert {function: pairs for function, pairs in unused.items() if pairs} == {}
    assert all(s["Resource"] != "*" for function in unused for s in iam_record.statements(TEMPLATE, function))


def test_only_functions_that_make_or_check_tokens_read_the_token_key():
    readers = {
        fid
        for fid in FUNCTIONS
        if any(
            "secretsmanager:GetSecretValue" in str(s.get("Action"))
            and {"Ref": "TokenKeySecret"} in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
            for s in iam_record.statements(TEMPLATE, fid)
        )
    }
    # The token key hashes link and session tokens and signs cursors and grant links; nothing else sees it.
    assert readers == {
        "InviteFunction",
        "AuthenticateFunction",
        "ReadersFunction",
        "RequestFunction",
        "LandingFunction",
        "SiteFunction",
        "SessionsFunction",
        "ConsoleFunction",
        "BootstrapFunction",
        "UsersFunction",
        "SiteKeysFunction",  # the private site's cookie keys are derived from it (sitecookie.site_keys)
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


def test_only_store_mailer_signing_and_edgekeys_import_boto3():
    package = ROOT / "layers" / "magiclink" / "magiclink"
    importers = set()
    for path in package.rglob("*.py"):
        if any(n.split(".")[0] == "boto3" for n in _imports(path.read_text())):
            importers.add(path.relative_to(package).parts[0])
    # one module per AWS service: DynamoDB, SES, KMS, and the private site's CloudFront KeyValueStore
    assert importers == {"store", "mailer.py", "signing.py", "edgekeys.py"}


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


def test_the_default_route_answers_what_no_other_route_serves():
    (route,) = TEMPLATE.functions()["FallbackFunction"].routes
    assert (route.method, route.path) == ("ANY", "$default")
    assert not iam_record.statements(TEMPLATE, "FallbackFunction")  # it reads nothing and calls nothing
