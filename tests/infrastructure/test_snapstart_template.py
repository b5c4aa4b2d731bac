"""The SnapStart parameter: off by default; on, every function behind the API snapshots its published
versions, and the API invokes them through the alias every deploy publishes (template.yaml's Globals)."""

from __future__ import annotations

from typing import Any

import pytest

from local.cfn import Template

TEMPLATE = Template()
NOT_BEHIND_THE_API = {"BootstrapFunction", "MailEventsFunction", "CleanupFunction", "SiteKeysFunction"}


def _resolve(node: Any, conditions: dict[str, bool]) -> Any:
    """`node` with every Fn::If decided by `conditions`."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return _resolve(yes if conditions[name] else no, conditions)
        return {k: _resolve(v, conditions) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, conditions) for v in node]
    return node


def _snap_start(function: str, on: bool) -> str:
    globals_ = TEMPLATE.doc["Globals"]["Function"]
    own = TEMPLATE.resources[function]["Properties"]
    return _resolve(own.get("SnapStart", globals_["SnapStart"]), {"SnapStartOn": on})["ApplyOn"]


def test_snapstart_is_a_parameter_off_by_default():
    parameter = TEMPLATE.doc["Parameters"]["SnapStart"]
    assert parameter["Default"] == "false"
    assert parameter["AllowedValues"] == ["true", "false"]
    assert TEMPLATE.doc["Conditions"]["SnapStartOn"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "true"]}


@pytest.mark.parametrize("on", [True, False])
def test_snapstart_applies_to_the_published_versions_of_the_functions_behind_the_api(on):
    functions = TEMPLATE.functions()
    for name, function in functions.items():
        expected = "PublishedVersions" if on and name not in NOT_BEHIND_THE_API else "None"
        assert _snap_start(name, on) == expected, name
        assert bool(function.routes) == (name not in NOT_BEHIND_THE_API), name


def test_every_deploy_publishes_a_version_behind_an_alias_that_the_events_invoke():
    # SAM points the API's integrations, the schedule and the SNS subscription at the AutoPublishAlias; it must
    # be a plain string (SAM refuses a condition there), so versions are published with SnapStart off too.
    globals_ = TEMPLATE.doc["Globals"]["Function"]
    assert globals_["AutoPublishAlias"] == "live"
    assert globals_["VersionDeletionPolicy"] == "Delete"
    for name, resource in TEMPLATE.of_type("AWS::Serverless::Function").items():
        assert "AutoPublishAlias" not in resource["Properties"], name
