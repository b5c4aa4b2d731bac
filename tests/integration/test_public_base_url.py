"""With PublicBaseUrl empty (the default) the template cannot tell a function the URL of the HTTP API in front
of it (that reference would be a dependency cycle), so the service learns it: from the domain API Gateway
says a request reached (requestContext.domainName), or, for the first admin's invite, from the bootstrap
resource's ApiUrl."""

from __future__ import annotations

import pytest
from support import event

from magiclink import settings

API_DOMAIN = "abc123.execute-api.eu-west-1.amazonaws.com"


@pytest.fixture
def no_public_base_url(monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    settings.get_settings.cache_clear()
    yield
    settings.get_settings.cache_clear()


def test_links_point_at_the_domain_the_request_reached(api, outbox, no_public_base_url):
    sent = event("invite", {"email": "ada@example.com"})
    sent["requestContext"]["domainName"] = API_DOMAIN

    assert api.deliver(sent).status == 200

    (link,) = outbox.messages()[-1].links
    assert link.startswith(f"https://{API_DOMAIN}/v1/magic_links/redirect?token=")


def test_the_first_admins_link_points_at_the_resources_api_url(functions, outbox, no_public_base_url):
    from local.stack import LambdaContext

    module = functions.module("BootstrapFunction")
    request = {
        "RequestType": "Create",
        "ResponseURL": "http://127.0.0.1:9/",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "r-1",
        "LogicalResourceId": "FirstAdmin",
        "ResourceType": "AWS::CloudFormation::CustomResource",
        "ResourceProperties": {"AdminEmail": "admin@example.com", "ApiUrl": f"https://{API_DOMAIN}"},
    }
    module._invite(request, LambdaContext(functions.template.functions()["BootstrapFunction"]))

    (link,) = outbox.messages()[-1].links
    assert link.startswith(f"https://{API_DOMAIN}/v1/magic_links/redirect?token=")


def test_a_deployments_public_base_url_wins(api, outbox):
    sent = event("invite", {"email": "ada@example.com"})
    sent["requestContext"]["domainName"] = API_DOMAIN

    assert api.deliver(sent).status == 200

    assert not outbox.messages()[-1].links[0].startswith(f"https://{API_DOMAIN}")
