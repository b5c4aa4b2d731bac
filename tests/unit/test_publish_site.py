"""scripts/publish_site.py, `make publish-site STACK=...`: the stack's outputs read, the directory mirrored
into the site's bucket and the distribution invalidated, each through the AWS CLI (recorded here, not run)."""

from __future__ import annotations

import io
import json
import subprocess

import pytest

from scripts import publish_site

OUTPUTS = {
    "SiteBucketName": "docs-sitebucket-1x2y3z",
    "SiteDistributionId": "E2ABCDEF123456",
    "SiteUrl": "https://d111111abcdef8.cloudfront.net",
    "ApiUrl": "https://abc.execute-api.eu-west-1.amazonaws.com",
}


def _cli(outputs: dict[str, str]):
    """A stand-in for the AWS CLI that answers describe-stacks and records every call."""
    calls = []

    def run(argv):
        calls.append(list(argv))
        if argv[:2] == ["cloudformation", "describe-stacks"]:
            items = [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]
            return json.dumps({"Stacks": [{"StackName": argv[3], "Outputs": items}]})
        return ""

    return run, calls


@pytest.fixture
def site(tmp_path):
    (tmp_path / "index.html").write_text("<h1>Docs</h1>")
    return tmp_path


def test_the_site_is_mirrored_into_the_stacks_bucket_then_the_cache_invalidated(site):
    run, calls = _cli(OUTPUTS)

    publish_site.publish(site, "docs", run=run, out=io.StringIO())

    assert calls == [
        ["cloudformation", "describe-stacks", "--stack-name", "docs", "--output", "json"],
        ["s3", "sync", str(site), "s3://docs-sitebucket-1x2y3z/", "--delete", "--no-progress"],
        ["cloudfront", "create-invalidation", "--distribution-id", "E2ABCDEF123456", "--paths", "/*"],
    ]


def test_a_dry_run_reads_the_outputs_and_only_prints_the_rest(site):
    run, calls = _cli(OUTPUTS)
    out = io.StringIO()

    publish_site.publish(site, "docs", dry_run=True, run=run, out=out)

    assert [c[:2] for c in calls] == [["cloudformation", "describe-stacks"]]
    printed = out.getvalue().splitlines()
    assert printed == [
        f"aws s3 sync {site} s3://docs-sitebucket-1x2y3z/ --delete --no-progress",
        "aws cloudfront create-invalidation --distribution-id E2ABCDEF123456 --paths '/*'",
    ]


def test_a_stack_without_the_private_site_is_refused_before_anything_is_uploaded(site):
    run, calls = _cli({"ApiUrl": OUTPUTS["ApiUrl"]})

    with pytest.raises(publish_site.PublishError, match="SiteProtection=true"):
        publish_site.publish(site, "docs", run=run, out=io.StringIO())
    assert len(calls) == 1


def test_a_missing_directory_is_refused_and_main_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(publish_site, "aws", lambda argv: pytest.fail("nothing may run"))

    assert publish_site.main([str(tmp_path / "nope"), "--stack", "docs"]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_a_failing_cli_call_is_reported_with_its_command(site, capsys, monkeypatch):
    def run(argv):
        if argv[0] == "cloudformation":
            return _cli(OUTPUTS)[0](argv)
        raise subprocess.CalledProcessError(1, ["aws", *argv], stderr="AccessDenied")

    monkeypatch.setattr(publish_site, "aws", run)

    assert publish_site.main([str(site), "--stack", "docs"]) == 1
    assert "aws s3 sync" in capsys.readouterr().err
