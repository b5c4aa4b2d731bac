"""MAGICLINK_PARAMETER_OVERRIDES: the local stack's functions see template parameters as a deployment would set them."""

from __future__ import annotations

import pytest

from local import stack
from local.cfn import Template

BASE_URL = "http://127.0.0.1:3000"


def test_overrides_reach_the_functions_environment_and_the_rest_keeps_the_templates_defaults(monkeypatch):
    monkeypatch.setenv("MAGICLINK_PARAMETER_OVERRIDES", "ProjectLinksPerHour=100000 EmailLinksPerHour=50")
    template = Template()

    env = stack.function_environment(template, BASE_URL)

    assert (env["PROJECT_LINKS_PER_HOUR"], env["EMAIL_LINKS_PER_HOUR"]) == ("100000", "50")
    assert env["IP_REQUESTS_PER_HOUR"] == template.parameters["IpRequestsPerHour"]


def test_the_local_stacks_own_settings_win_over_an_override(monkeypatch):
    monkeypatch.setenv("MAGICLINK_PARAMETER_OVERRIDES", "PublicBaseUrl=https://elsewhere.example")

    assert stack.function_environment(Template(), BASE_URL)["PUBLIC_BASE_URL"] == BASE_URL


@pytest.mark.parametrize("spec", ["ProjectLinksPerHr=5", "ProjectLinksPerHour", "=5"])
def test_a_name_the_template_lacks_or_a_pair_without_a_value_is_refused(monkeypatch, spec):
    monkeypatch.setenv("MAGICLINK_PARAMETER_OVERRIDES", spec)

    with pytest.raises(ValueError, match="MAGICLINK_PARAMETER_OVERRIDES"):
        stack.function_environment(Template(), BASE_URL)
