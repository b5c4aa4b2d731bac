"""What `sam build` leaves in .aws-sam/build (make test builds before pytest): the layer and every function
ship their bytecode, for Lambda's python3.13 on arm64.

Lambda's /opt and /var/task are read-only: a module shipped without its .pyc is compiled from source at
every cold start. The .pyc must be unchecked-hash ones, which Python uses whatever the zip's timestamps.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from local.cfn import ROOT, Template

BUILD = ROOT / ".aws-sam" / "build"
CACHE_TAG = "cpython-313"
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked
EM_AARCH64 = 183

pytestmark = pytest.mark.skipif(
    not (BUILD / "template.yaml").is_file(), reason="no .aws-sam/build: `make build` first (make test does)"
)


def _built(name: str) -> Path:
    path = BUILD / name
    assert path.is_dir(), f"{name} is not in .aws-sam/build: run `make build`"
    return path


def _missing_bytecode(root: Path) -> list[str]:
    """Every .py under `root` without an unchecked-hash cpython-313 .pyc beside it (in __pycache__)."""
    missing = []
    for source in sorted(root.rglob("*.py")):
        pyc = source.parent / "__pycache__" / f"{source.stem}.{CACHE_TAG}.pyc"
        header = pyc.read_bytes()[:8] if pyc.is_file() else b""
        if header[:4] != importlib.util.MAGIC_NUMBER or int.from_bytes(header[4:8], "little") != UNCHECKED_HASH:
            missing.append(str(source.relative_to(root)))
    return missing


def test_the_layer_ships_an_unchecked_hash_pyc_for_every_module():
    layer = _built("MagicLinkLayer") / "python"
    assert (layer / "magiclink" / "__init__.py").is_file()
    assert (layer / "pydantic" / "main.py").is_file()
    assert _missing_bytecode(layer) == []


def test_every_function_ships_its_handler_with_bytecode():
    for logical_id in Template().functions():
        function = _built(logical_id)
        assert (function / "app.py").is_file(), logical_id
        assert _missing_bytecode(function) == [], logical_id


def test_the_layers_compiled_extensions_are_for_arm64():
    extensions = sorted((_built("MagicLinkLayer") / "python").rglob("*.so"))
    assert extensions, "pydantic_core at least is compiled"
    for extension in extensions:
        header = extension.read_bytes()[:20]
        assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == EM_AARCH64, extension.name


def test_a_functions_own_requirements_ship_with_it_for_arm64():
    """crhelper for the custom resources (FirstAdmin, SiteKeys), and awscrt, which botocore signs the private
    site's KeyValueStore calls (SigV4A) with, compiled for arm64."""
    for logical_id, fn in Template().functions().items():
        requirements = fn.code_uri / "requirements.txt"
        if not requirements.is_file():
            continue
        names = [line.split("==")[0] for line in requirements.read_text().splitlines() if "==" in line]
        for name in names:
            assert list(_built(logical_id).glob(f"{name}-*.dist-info")), f"{logical_id} lacks {name}"
    extensions = sorted(_built("SiteKeysFunction").rglob("*.so"))
    assert extensions, "awscrt is compiled"
    for extension in extensions:
        header = extension.read_bytes()[:20]
        assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == EM_AARCH64, extension.name
