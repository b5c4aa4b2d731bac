"""`make publish-site DIR=<dir> STACK=<stack>`: a static site into a deployed stack's private site.

Reads the stack's outputs (SiteBucketName, SiteDistributionId), mirrors the directory into the bucket
(`aws s3 sync --delete`: what is gone from the directory is gone from the site) and invalidates the
distribution's cache (`/*`), through the AWS CLI and whatever credentials and region it is configured with
(AWS_PROFILE, AWS_REGION...). `--dry-run` reads the outputs and prints the rest instead of running it.
Without STACK, `make publish-site` goes to the local stack instead (local/publish_site.py).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

Run = Callable[[Sequence[str]], str]
NEEDED = ("SiteBucketName", "SiteDistributionId")


class PublishError(Exception):
    """What stops a publish before anything is uploaded."""


def aws(argv: Sequence[str]) -> str:
    return subprocess.run(["aws", *argv], check=True, capture_output=True, text=True).stdout  # noqa: S603, S607 - the AWS CLI, our arguments


def stack_outputs(stack: str, run: Run) -> dict[str, str]:
    answer = json.loads(run(["cloudformation", "describe-stacks", "--stack-name", stack, "--output", "json"]))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in answer["Stacks"][0].get("Outputs", [])}
    missing = [name for name in NEEDED if name not in outputs]
    if missing:
        raise PublishError(
            f"stack {stack} has no private site ({', '.join(missing)}): deploy it with SiteProtection=true"
        )
    return outputs


def commands(directory: Path, outputs: dict[str, str]) -> list[list[str]]:
    """The upload, then the invalidation (so that no edge keeps serving the old pages for a day)."""
    return [
        ["s3", "sync", str(directory), f"s3://{outputs['SiteBucketName']}/", "--delete", "--no-progress"],
        ["cloudfront", "create-invalidation", "--distribution-id", outputs["SiteDistributionId"], "--paths", "/*"],
    ]


def publish(
    directory: Path, stack: str, *, dry_run: bool = False, run: Run | None = None, out=sys.stdout
) -> list[list[str]]:
    run = run or aws
    if not directory.is_dir():
        raise PublishError(f"{directory} is not a directory")
    if not (directory / "index.html").is_file():
        print(f"warning: {directory} has no index.html, the site's front page", file=sys.stderr)
    outputs = stack_outputs(stack, run)
    steps = commands(directory, outputs)
    for step in steps:
        print(shlex.join(["aws", *step]), file=out)
        if not dry_run:
            run(step)
    if not dry_run:
        print(f"published to {outputs.get('SiteUrl', outputs['SiteBucketName'])}", file=out)
    return steps


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    try:
        publish(args.directory, args.stack, dry_run=args.dry_run)
    except PublishError as exc:
        print(f"publish-site: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"publish-site: {shlex.join(exc.cmd)} failed:\n{exc.stderr}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
