"""Package size: each function's zip and the layer's zip, as `sam build` left them in .aws-sam/build.

Zipped here the way `sam package` uploads them (deflate, every file), in memory. Baselines: for a
function, the zip of its handler module alone; for the layer, the zip of the service's own package
(magiclink) alone, so the ratio is what the dependencies weigh. The one limit that applies is Lambda's:
a function and its layers at most 250 MB unzipped.
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from pathlib import Path

from .common import ROOT, Row, section_main, template

BUILD = ROOT / ".aws-sam" / "build"
LAMBDA_UNZIPPED_LIMIT_KB = 250 * 1024


def zipped(root: Path, only: str | None = None) -> int:
    """Bytes of a deflated zip of every file under `root` (or under root/only)."""
    buffer = io.BytesIO()
    base = root / only if only else root
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            archive.write(path, path.relative_to(root).as_posix())
    return len(buffer.getvalue())


def unzipped(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def run(args) -> tuple[list[Row], dict]:
    if not (BUILD / "template.yaml").is_file():
        raise SystemExit("no .aws-sam/build: run `make build` first (make bench does)")
    info: dict = {"build": str(BUILD)}
    rows = []
    functions = template().functions()
    layer_ids = list(template().of_type("AWS::Serverless::LayerVersion"))
    layer_kb = 0.0
    for layer_id in layer_ids:
        root = BUILD / layer_id
        content = root / "python" if (root / "python").is_dir() else root
        packages: dict[str, int] = defaultdict(int)
        for path in content.rglob("*"):
            if path.is_file():
                top = path.relative_to(content).parts[0]
                name = top.split("-")[0].removesuffix(".py") if top.endswith((".dist-info", ".py")) else top
                packages[name] += path.stat().st_size
        own = "magiclink" if (content / "magiclink").is_dir() else None
        layer_kb = unzipped(root) / 1024
        rows.append(
            Row(
                "package size",
                f"{layer_id} (layer) zip",
                "KB",
                zipped(content, own) / 1024 if own else None,
                zipped(root) / 1024,
                note=f"baseline: the service's own package ({own}) zipped alone; {layer_kb / 1024:.1f} MB unzipped",
                extra={
                    "unzipped_kb": round(layer_kb, 1),
                    "largest_kb": sorted(((k, round(v / 1024, 1)) for k, v in packages.items()), key=lambda kv: -kv[1])[
                        :8
                    ],
                },
            )
        )
    largest_fn = 0.0
    for logical_id, fn in functions.items():
        root = BUILD / logical_id
        if not root.is_dir():
            continue
        handler_file = fn.handler.rsplit(".", 1)[0] + ".py"
        code_kb = sum(p.stat().st_size for p in root.rglob("*.py")) / 1024
        largest_fn = max(largest_fn, unzipped(root) / 1024)
        rows.append(
            Row(
                "package size",
                f"{logical_id} zip",
                "KB",
                zipped(root, handler_file) / 1024,
                zipped(root) / 1024,
                note=f"code {code_kb:.1f} KB unzipped; baseline: {handler_file} zipped alone",
                extra={"code_kb": round(code_kb, 2), "files": sorted(p.name for p in root.rglob("*") if p.is_file())},
            )
        )
    rows.append(
        Row(
            "package size",
            "largest function + layer, unzipped",
            "KB",
            None,
            layer_kb + largest_fn,
            max_value=LAMBDA_UNZIPPED_LIMIT_KB,
            note="Lambda's limit: 250 MB unzipped, function and layers together",
        )
    )
    return rows, info


if __name__ == "__main__":
    section_main("sizes", run)
