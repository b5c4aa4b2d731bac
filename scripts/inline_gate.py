"""Copy edge/gate.js into template.yaml as SiteGateFunction's FunctionCode (CloudFormation takes a CloudFront
Function's code inline only). tests/infrastructure/test_site_template.py fails while the two differ:
run `python scripts/inline_gate.py` after editing the gate."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATE = ROOT / "edge" / "gate.js"
TEMPLATE = ROOT / "template.yaml"
# The block scalar under SiteGateFunction's FunctionCode, up to the next line indented less than its text.
BLOCK = re.compile(r"(?m)^(?P<head>      FunctionCode: \|\n)(?P<body>(?:(?:        .*)?\n)*?)(?=^ {0,7}\S)")
INDENT = " " * 8


def inlined(template: str, gate: str) -> str:
    body = "".join(f"{INDENT}{line}\n" if line else "\n" for line in gate.splitlines())
    new, count = BLOCK.subn(lambda m: m["head"] + body + "\n", template, count=1)
    if count != 1:
        raise SystemExit("template.yaml has no `      FunctionCode: |` block to fill")
    return new


if __name__ == "__main__":
    TEMPLATE.write_text(inlined(TEMPLATE.read_text(), GATE.read_text()))
