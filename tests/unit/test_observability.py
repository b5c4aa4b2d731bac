"""Tracing is off unless asked for, and then costs nothing at import; logs carry the request's correlation id."""

from __future__ import annotations

import subprocess
import sys

from local.cfn import ROOT


def _run(code: str, trace_disabled: str) -> str:
    env = {"POWERTOOLS_TRACE_DISABLED": trace_disabled, "POWERTOOLS_SERVICE_NAME": "magiclink", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "layers" / "magiclink", env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_tracing_off_leaves_the_handler_alone_and_never_imports_xray():
    code = (
        "import sys; from magiclink.observability import traced\n"
        "f = lambda e, c: 1\n"
        "print(traced(f) is f, 'aws_xray_sdk' in sys.modules)"
    )
    assert _run(code, "true") == "True False"


def test_tracing_on_wraps_the_handler():
    code = "from magiclink.observability import traced\nf = lambda e, c: 1\nprint(traced(f) is f)"
    assert _run(code, "false") == "False"
