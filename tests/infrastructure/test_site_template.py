"""template.yaml's private site (SiteProtection, docs/private-site.md): what exists only when it is on, how
the distribution routes, who may read the bucket, the gate's code and keys, and that nothing makes a cycle."""

from __future__ import annotations

import re
from typing import Any

import iam_record
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.stub import Stubber

from local import stack
from local.cfn import NO_VALUE, ROOT, Template, condition

TEMPLATE = Template()
RESOURCES = TEMPLATE.resources
CONDITIONS = TEMPLATE.doc["Conditions"]
SITE_CONDITIONS = {"SiteOn", "SiteOnOwnDomain", "SiteOnDistributionDomain"}
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def _holds(name: str, **parameters: str) -> bool:
    refs = TEMPLATE.parameters | parameters | {"AWS::NoValue": NO_VALUE}
    return condition(CONDITIONS[name], refs, CONDITIONS)


def _props(name: str) -> dict:
    return RESOURCES[name]["Properties"]


def _distribution() -> dict:
    return _props("SiteDistribution")["DistributionConfig"]


SITE_ON = {"SiteProtection": "true"}
OWN_DOMAIN = SITE_ON | {
    "SiteDomainName": "docs.example.com",
    "SiteCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
}


def test_with_site_protection_off_nothing_of_the_site_exists():
    assert TEMPLATE.parameters["SiteProtection"] == "false"
    assert not any(_holds(name) for name in SITE_CONDITIONS)
    site = {name for name, r in RESOURCES.items() if r.get("Condition") in SITE_CONDITIONS}
    assert site == {
        "SiteBucket",
        "SiteBucketPolicy",
        "SiteOriginAccessControl",
        "SiteKeyValueStore",
        "SiteGateFunction",
        "SiteDistribution",
        "SiteUrlParameter",
        "ReadSiteUrlPolicy",
        "SiteKeysFunction",
        "SiteKeys",
        "SiteEdgeSecret",
        "ReadEdgeSecretPolicy",
    }
    # Every resource of a kind only the site uses is among them
    kinds = ("AWS::CloudFront::", "AWS::S3::", "AWS::SSM::")
    assert {name for name, r in RESOURCES.items() if r["Type"].startswith(kinds)} <= site
    outputs = {name for name, o in TEMPLATE.doc["Outputs"].items() if o.get("Condition") == "SiteOn"}
    assert outputs == {"SiteUrl", "SiteBucketName", "SiteDistributionId", "SiteKeyValueStoreArn"}
    # The functions' environment says "no site", as the local stack resolves it
    env = stack.function_environment(TEMPLATE, "http://127.0.0.1:3000")
    assert env["SITE_URL"] == "" and env["SITE_URL_PARAMETER"] == ""
    assert env["SITE_SESSION_MINUTES"] == "10080"
    assert env["EDGE_SECRET_ID"] == ""  # no header is trusted as the client's IP


def test_the_conditions_site_on_with_and_without_a_domain_of_its_own():
    assert _holds("SiteOn", **SITE_ON) and _holds("SiteOnDistributionDomain", **SITE_ON)
    assert not _holds("SiteOnOwnDomain", **SITE_ON)
    assert _holds("SiteOnOwnDomain", **OWN_DOMAIN) and not _holds("SiteOnDistributionDomain", **OWN_DOMAIN)
    assert not _holds("SiteOnOwnDomain", SiteDomainName="docs.example.com")  # a domain alone makes no site
    # Both or neither, and the certificate in us-east-1 (CloudFront's)
    rule = TEMPLATE.doc["Rules"]["SiteDomainWithItsCertificate"]["Assertions"][0]["Assert"]
    assert "SiteDomainName" in str(rule) and "SiteCertificateArn" in str(rule)
    pattern = TEMPLATE.doc["Parameters"]["SiteCertificateArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, OWN_DOMAIN["SiteCertificateArn"]) and re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, OWN_DOMAIN["SiteCertificateArn"].replace("us-east-1", "eu-west-1"))
    assert "us-east-1" in TEMPLATE.doc["Parameters"]["SiteCertificateArn"]["Description"]


def test_the_custom_domain_pieces_exist_only_with_site_domain_name():
    config = _distribution()
    assert config["Aliases"] == {"Fn::If": ["SiteOnOwnDomain", [{"Ref": "SiteDomainName"}], {"Ref": "AWS::NoValue"}]}
    own, default = config["ViewerCertificate"]["Fn::If"][1:]
    assert config["ViewerCertificate"]["Fn::If"][0] == "SiteOnOwnDomain"
    assert own == {
        "AcmCertificateArn": {"Ref": "SiteCertificateArn"},
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    assert default == {"CloudFrontDefaultCertificate": True}
    env = TEMPLATE.doc["Globals"]["Function"]["Environment"]["Variables"]
    assert env["SITE_URL"] == {"Fn::If": ["SiteOnOwnDomain", {"Fn::Sub": "https://${SiteDomainName}"}, ""]}


def test_the_default_behaviour_serves_the_bucket_through_the_gate_and_https():
    config = _distribution()
    origins = {o["Id"]: o for o in config["Origins"]}
    default = config["DefaultCacheBehavior"]
    assert origins[default["TargetOriginId"]]["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["CachePolicyId"] == CACHING_OPTIMIZED  # the gate runs at the viewer request, before the cache
    assert default["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": ["SiteGateFunction", "FunctionARN"]}}
    ]
    assert set(default["AllowedMethods"]) == {"GET", "HEAD"}
    assert config["HttpVersion"] == "http2and3"
    assert config["DefaultRootObject"] == "index.html"
    assert config["Enabled"] is True


def test_the_api_paths_go_to_the_http_api_uncached_with_everything_but_host():
    config = _distribution()
    origins = {o["Id"]: o for o in config["Origins"]}
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(behaviours) == {"/v1/*", "/access", "/_site/*"}
    for path, behaviour in behaviours.items():
        origin = origins[behaviour["TargetOriginId"]]
        assert origin["DomainName"] == {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}, path
        assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
        assert behaviour["CachePolicyId"] == CACHING_DISABLED, path
        assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST, path
        assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}, path
        assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https", path
        assert "FunctionAssociations" not in behaviour, path  # the API checks its own callers
    # Every path the distribution sends to the API is one the API serves (/access exactly; its routes)
    routes = {r.path for fn in TEMPLATE.functions().values() for r in fn.routes}
    assert "/access" in routes and any(r.startswith("/v1/") for r in routes)


def test_the_bucket_is_private_and_read_only_by_the_distribution_through_oac():
    bucket = _props("SiteBucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    oac = _props("SiteOriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    (s3_origin,) = [o for o in _distribution()["Origins"] if "S3OriginConfig" in o]
    assert s3_origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert s3_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
    policy = _props("SiteBucketPolicy")
    assert policy["Bucket"] == {"Ref": "SiteBucket"}
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "OnlyTheSiteDistributionReads",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${SiteBucket.Arn}/*"},
            "Condition": {
                "StringEquals": {
                    "AWS:SourceArn": {
                        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}"
                        + ":distribution/${SiteDistribution}"
                    }
                }
            },
        }
    ]


def test_the_gate_is_edge_gate_js_on_cloudfront_js_2_with_the_key_value_store():
    function = _props("SiteGateFunction")
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert function["AutoPublish"] is True
    assert function["FunctionConfig"]["KeyValueStoreAssociations"] == [
        {"KeyValueStoreARN": {"Fn::GetAtt": ["SiteKeyValueStore", "Arn"]}}
    ]
    gate = (ROOT / "edge" / "gate.js").read_text()
    assert function["FunctionCode"] == gate, "template.yaml's gate is stale: run python scripts/inline_gate.py"


EDGE_READERS = {"RequestFunction", "LandingFunction", "ConsoleFunction"}  # every caller of http.client_ip


def test_the_api_origin_proves_the_distribution_with_a_generated_secret_and_forwards_the_viewers_address():
    (api,) = [o for o in _distribution()["Origins"] if o["Id"] == "api"]
    (header,) = api["OriginCustomHeaders"]
    assert header["HeaderName"].lower() == "x-magiclink-edge"  # what http.client_ip checks
    # A dynamic reference: the value is never in the template, a parameter or an output
    assert header["HeaderValue"] == {"Fn::Sub": "{{resolve:secretsmanager:${SiteEdgeSecret}:SecretString:value}}"}
    secret = RESOURCES["SiteEdgeSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret" and secret["Condition"] == "SiteOn"
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "value" and generated["PasswordLength"] >= 32
    # CloudFront-Viewer-Address reaches the API: AllViewerExceptHostHeader forwards it (the viewer-location
    # headers), with every viewer header but Host
    behaviours = _distribution()["CacheBehaviors"]
    assert {b["TargetOriginId"] for b in behaviours} == {"api"}
    assert all(b["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST for b in behaviours)
    # The functions name the secret (no cycle: it references nothing), and only with a site
    env = TEMPLATE.doc["Globals"]["Function"]["Environment"]["Variables"]
    assert env["EDGE_SECRET_ID"] == {"Fn::If": ["SiteOn", {"Ref": "SiteEdgeSecret"}, ""]}
    assert not _references(secret)
    assert (
        stack.function_environment(TEMPLATE, "http://127.0.0.1:3000", site_url="http://127.0.0.1:3001")[
            "EDGE_SECRET_ID"
        ]
        == stack.local_names()["SiteEdgeSecret"]
    )


def test_the_edge_secret_is_granted_with_a_site_to_exactly_the_functions_that_read_it(recorded_aws_calls):
    """Least privilege, from the record: the functions granted GetSecretValue on the edge secret (SiteOn only)
    are those the tests saw read it (tests/integration/test_client_ip.py), and nothing else is granted."""
    edge = stack.local_names()["SiteEdgeSecret"]
    read = {f for f, calls in recorded_aws_calls.calls.items() if ("secretsmanager:GetSecretValue", edge) in calls}
    if not read and not recorded_aws_calls.complete:
        pytest.skip("run tests/integration/test_client_ip.py in the same session")
    pair = ("secretsmanager:GetSecretValue", edge)
    assert {f for f in TEMPLATE.functions() if pair in iam_record.granted(TEMPLATE, f, SITE_ON)} == read
    assert read == EDGE_READERS
    for function in TEMPLATE.functions():
        assert pair not in iam_record.granted(TEMPLATE, function), function  # nothing of it without a site
    (statement,) = _props("ReadEdgeSecretPolicy")["PolicyDocument"]["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Ref": "SiteEdgeSecret"},
    }


def test_the_site_url_output_and_the_services_way_to_it():
    assert TEMPLATE.doc["Outputs"]["SiteUrl"]["Value"] == {
        "Fn::If": [
            "SiteOnOwnDomain",
            {"Fn::Sub": "https://${SiteDomainName}"},
            {"Fn::Sub": "https://${SiteDistribution.DomainName}"},
        ]
    }
    # Without a domain, the URL is in an SSM parameter whose name the functions know without referencing it
    env = TEMPLATE.doc["Globals"]["Function"]["Environment"]["Variables"]
    name = _props("SiteUrlParameter")["Name"]
    assert env["SITE_URL_PARAMETER"] == {"Fn::If": ["SiteOnDistributionDomain", name, ""]}
    assert _props("SiteUrlParameter")["Value"] == {"Fn::Sub": "https://${SiteDistribution.DomainName}"}
    (statement,) = _props("ReadSiteUrlPolicy")["PolicyDocument"]["Statement"]
    assert statement["Action"] == "ssm:GetParameter"
    arn = statement["Resource"]["Fn::Sub"]
    assert arn == "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter" + name["Fn::Sub"]
    for function in ("LandingFunction", "RequestFunction"):
        attached = _props(function)["Policies"]
        assert {"Fn::If": ["SiteOnDistributionDomain", {"Ref": "ReadSiteUrlPolicy"}, {"Ref": "AWS::NoValue"}]} in (
            attached
        ), function


def _references(value: Any) -> set[str]:
    """The logical ids (and parameters) a value refers to: Ref, GetAtt, and ${...} in Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref":
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([\w:.]+)\}", text)}
                found |= set() if isinstance(inner, str) else _references(inner[1])
            else:
                found |= _references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _references(inner)
    return found


def test_nothing_makes_a_dependency_cycle():
    """cfn-lint does not see through SAM's HttpApi (whose OpenAPI body, after the transform, names every routed
    function's alias), so the cycle that referencing the distribution from a function would make is looked for
    here: the API depends on every function with a route, each function on its properties and the Globals."""
    globals_ = TEMPLATE.doc["Globals"]["Function"]
    # A function's Events are not its dependencies: SAM's transform turns them into the API's routes (below)
    # and permissions of their own.
    graph = {
        name: _references({k: v for k, v in r.get("Properties", {}).items() if k != "Events"}) & set(RESOURCES)
        for name, r in RESOURCES.items()
    }
    for name in TEMPLATE.functions():
        graph[name] |= _references(globals_) & set(RESOURCES)
        for event in RESOURCES[name]["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                graph[event["Properties"]["ApiId"]["Ref"]].add(name)
    assert "HttpApi" in graph["SiteDistribution"] and "InviteFunction" in graph["HttpApi"]
    assert "SiteDistribution" in graph["SiteUrlParameter"]

    def back_to(start: str) -> list[str] | None:
        """A path from `start` back to itself, if any."""
        stack, seen = [[start]], set()
        while stack:
            path = stack.pop()
            for nxt in graph[path[-1]]:
                if nxt == start:
                    return [*path, start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append([*path, nxt])
        return None

    # Every resource, not only the site's: the Globals once gave every function PUBLIC_BASE_URL as
    # https://${HttpApi}..., a cycle (API -> function -> API) that no deploy with PublicBaseUrl empty survived.
    assert {name: back_to(name) for name in RESOURCES} == dict.fromkeys(RESOURCES)


def _granted_actions(function: str) -> set[tuple[str, str]]:
    statements = _props(function)["Policies"][0]["Statement"]
    return {
        (action, str(s["Resource"]))
        for s in statements
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }


def test_the_key_publisher_is_granted_exactly_the_calls_edgekeys_makes(monkeypatch):
    """Derived from the code: edgekeys.publish runs against a stubbed store, and every operation it called,
    as IAM names it, is what the function is granted on the store; besides that, only the token key."""
    import boto3

    from magiclink import edgekeys, keyring

    monkeypatch.setattr(keyring, "token_keys", lambda: [b"a-token-key", b"an-older-token-key"])
    monkeypatch.setattr(edgekeys.credentials, "forget", lambda: None)
    client = boto3.client(
        "cloudfront-keyvaluestore", region_name="us-east-1", config=Config(signature_version=UNSIGNED)
    )
    monkeypatch.setattr(edgekeys, "client", lambda: client)
    called = []
    client.meta.events.register("before-parameter-build", lambda model, **_: called.append(model.name))
    arn = "arn:aws:cloudfront::123456789012:key-value-store/0b7a1c52-1f0e-4c1e-9d55-3b2a1c0d9e8f"
    with Stubber(client) as stub:
        described = {
            "KvsARN": arn,
            "ETag": "E",
            "Created": "2026-01-01T00:00:00Z",
            "ItemCount": 1,
            "TotalSizeInBytes": 1,
        }
        stub.add_response("describe_key_value_store", described)
        stub.add_response("list_keys", {"Items": [{"Key": "site-key-00000000", "Value": "retired"}]})
        stub.add_response("update_keys", {"ItemCount": 2, "TotalSizeInBytes": 1, "ETag": "F"})
        edgekeys.publish(arn)

    prefix = client.meta.service_model.signing_name
    store = str({"Fn::GetAtt": ["SiteKeyValueStore", "Arn"]})
    needed = {(f"{prefix}:{operation}", store) for operation in called}
    needed.add(("secretsmanager:GetSecretValue", str({"Ref": "TokenKeySecret"})))
    assert _granted_actions("SiteKeysFunction") == needed
    assert len(_props("SiteKeysFunction")["Policies"]) == 1  # no managed policy besides
    assert all(s["Resource"] != "*" for s in iam_record.statements(TEMPLATE, "SiteKeysFunction"))


def test_the_key_publisher_runs_on_every_deploy_that_changes_the_store_or_site_keys_version():
    keys = _props("SiteKeys")
    assert RESOURCES["SiteKeys"]["Type"] == "AWS::CloudFormation::CustomResource"
    assert keys["ServiceToken"] == {"Fn::GetAtt": ["SiteKeysFunction", "Arn"]}
    assert keys["KeyValueStoreArn"] == {"Fn::GetAtt": ["SiteKeyValueStore", "Arn"]}
    assert keys["Version"] == {"Ref": "SiteKeysVersion"}
    function = _props("SiteKeysFunction")
    assert function["CodeUri"] == "functions/sitekeys/"
    requirements = (ROOT / "functions" / "sitekeys" / "requirements.txt").read_text().split()
    assert any(r.startswith("awscrt==") for r in requirements) and any(r.startswith("crhelper==") for r in requirements)
    # functions/Makefile installs them; tests/infrastructure/test_build.py checks what `sam build` shipped


def test_the_gate_inliner_replaces_only_the_gates_code_and_is_idempotent():
    from scripts import inline_gate as module

    text = (ROOT / "template.yaml").read_text()
    gate = (ROOT / "edge" / "gate.js").read_text()
    assert module.inlined(text, gate) == text
    changed = module.inlined(text, gate.replace("'fresh'", "'FRESH'"))
    assert changed != text and module.inlined(changed, gate) == text
