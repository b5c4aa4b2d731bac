"""Cold start, as shipped: fresh processes running the functions from the layout `sam build` leaves in
.aws-sam/build, each timed from just before it is spawned until its work is done.

Per function the issue names (template.yaml):
  first request  import the handler module and handle one real event against moto (server mode): the
                 clients, the secrets and the AWS calls included (the issue's target), against
                 bench/bare.py making the same first request with bare boto3 in a fresh process. Held to
                 the target in CPU time (the process's own: interpreter, imports, the request's Python),
                 which leaves out the waits on moto: they are the same on both sides, moto's (4 to 15 ms a
                 call, not DynamoDB's), and only dilute the ratio; wall time is reported too
  import         import the handler module and create the clients its first request would, against the
                 floor `import boto3; boto3.client("dynamodb")` (for information: where the time goes)

As shipped means: the function's directory from .aws-sam/build (its handler and bytecode) and the layer
built by its own Makefile target (layers/magiclink/Makefile, as `sam build` runs it), and nothing
written while running (PYTHONDONTWRITEBYTECODE, as on Lambda, whose /opt and /var/task are read-only):
a module shipped without bytecode is compiled at every run, as it would be on Lambda. The built layer
holds arm64 wheels; on another machine the same target is built again for the host's architecture
(the same packages and versions, the same bytecode; only the compiled extensions differ). boto3 comes
from this venv, as Lambda's runtime provides it; a run that imports anything else from the venv fails.

Runs are interleaved in a shuffled order every repetition, so drift hits baseline and candidate alike,
and every variant runs once untimed first (files in the page cache). Every run also reports its CPU
time, a steadier measure than wall time when the machine is shared. Finally `python -X importtime`
attributes the import time, per package and module, against the floor's.
"""

from __future__ import annotations

import json
import platform
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

from .common import (
    FUNCTIONS,
    LAYER,
    PY,
    ROOT,
    Inputs,
    Row,
    api_event,
    clean_env,
    function_env,
    function_services,
    invite_body,
    median,
    moto_server,
    progress,
    schedule_event,
    section_main,
    use_local_aws,
)

HERE = Path(__file__).resolve().parent
BUILD = ROOT / ".aws-sam" / "build"
TARGET = 1.25
OPERATION_OF = {
    "InviteFunction": "invite",
    "AuthenticateFunction": "authenticate",
    "RevokeFunction": "revoke_invite",
    "CleanupFunction": "cleanup",
}
BUILT_ARCH = "aarch64"  # template.yaml's arm64


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def shipped_layer(tmp: Path) -> tuple[Path, str]:
    """The layer's python/ directory as shipped, runnable here; and how it was obtained.

    On arm64 that is .aws-sam/build's own. Elsewhere, the layer's Makefile target is run again for this
    machine's architecture, and its files must be the built layer's, bar the extensions' architecture.
    """
    built = BUILD / "MagicLinkLayer" / "python"
    if not built.is_dir():
        raise SystemExit("no .aws-sam/build/MagicLinkLayer: run `make build` (make bench does)")
    arch = platform.machine()
    if arch in (BUILT_ARCH, "arm64"):
        return built, ".aws-sam/build/MagicLinkLayer"
    artifacts = tmp / "opt"
    command = ["make", "build-MagicLinkLayer", f"ARTIFACTS_DIR={artifacts}", f"ARCH={arch}", f"PYTHON={PY}"]
    done = subprocess.run(  # noqa: S603 - make, with the layer's own Makefile
        command,
        cwd=LAYER,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"building the layer for {arch} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    layer = artifacts / "python"
    differ = _files(layer) ^ {name.replace(BUILT_ARCH, arch) for name in _files(built)}
    if differ:
        raise RuntimeError(f"the {arch} copy of the layer differs from .aws-sam/build's: {sorted(differ)[:10]}")
    return layer, f"layers/magiclink/Makefile build-MagicLinkLayer ARCH={arch}, the same files as .aws-sam/build's"


def prepare(tmp: Path) -> tuple[dict, str]:
    """The code under test: task/<function> (.aws-sam/build's), the layer as shipped, and the bench's own
    scripts compiled (the baseline's bare.py ships with its bytecode too)."""
    paths: dict = {"task": {}, "bench": tmp / "bench"}
    for fn in FUNCTIONS:
        paths["task"][fn] = BUILD / fn
        if not (BUILD / fn / "app.py").is_file():
            raise SystemExit(f"no .aws-sam/build/{fn}: run `make build` (make bench does)")
    paths["opt"], origin = shipped_layer(tmp)
    paths["bench"].mkdir()
    for name in ("cold_child.py", "bare.py"):
        shutil.copy2(HERE / name, paths["bench"] / name)
    subprocess.run([PY, "-m", "compileall", "-q", str(paths["bench"])], check=True)  # noqa: S603
    return paths, origin


class Runner:
    def __init__(self, paths: dict, endpoint: str):
        self.paths = paths
        self.child = str(paths["bench"] / "cold_child.py")
        # Nothing is written while running, as on Lambda: missing bytecode would be compiled at every run.
        self.env = clean_env() | function_env(endpoint) | {"PYTHONDONTWRITEBYTECODE": "1"}
        self.events = paths["bench"] / "events"
        self.events.mkdir(exist_ok=True)

    def args(self, kind: str, fn: str | None, event_file: Path | None = None) -> list[str]:
        if kind == "floor":
            return ["floor"]
        task = str(self.paths["task"][fn])
        services = ",".join(function_services(fn))
        if kind == "import":
            return ["import", task, str(self.paths["opt"]), services]
        if kind == "request":
            return ["request", task, str(self.paths["opt"]), str(event_file), fn]
        return ["bare", str(self.paths["bench"]), OPERATION_OF[fn], str(event_file), services]

    def run(self, args: list[str], *, flags: tuple[str, ...] = ()) -> tuple[dict, str]:
        t0 = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - our own interpreter and script
            [PY, *flags, self.child, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        marker = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
        if done.returncode != 0 or not marker:
            raise RuntimeError(f"cold start {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        result = json.loads(marker[-1][6:])
        if result.get("status") not in (None, 200):
            raise RuntimeError(f"cold start {args} answered {result['status']}:\n{done.stdout[-2000:]}")
        if result.get("from_venv"):
            raise RuntimeError(f"cold start {args[0]} imported from the venv, not the layer: {result['from_venv']}")
        timing = {
            "cpu": result["cpu"],
            "total": result["t_end"] - t0,
            "startup": result["t_main"] - t0,
            "imports": result["t_imported"] - result["t_main"],
            "work": result["t_end"] - result["t_imported"],
        }
        return timing, done.stderr


class Data:
    """The input file of one first-request run: the event, and the service's item shape for bare invites."""

    def __init__(self, runner: Runner):
        from local import stack
        from local.cfn import Template

        self.runner = runner
        self.inputs = Inputs(stack.Functions(Template()), "cold")
        self.shape = self.inputs.shape()

    def event_file(self, fn: str) -> Path:
        operation = OPERATION_OF[fn]
        if operation == "invite":
            event = api_event("invite", invite_body(self.inputs.email()))
        elif operation == "authenticate":
            event = api_event("authenticate", {"token": self.inputs.pending()[1]})
        elif operation == "revoke_invite":
            event = api_event("revoke_invite", {"email": self.inputs.pending()[0]})
        else:
            event = schedule_event()
        path = self.runner.events / f"{uuid.uuid4().hex}.json"
        path.write_text(json.dumps({"event": event, "shape": self.shape}))
        return path


def _importtime(stderr: str) -> dict[str, float]:
    """Self import time (ms) per module, from `python -X importtime` output."""
    modules: dict[str, float] = {}
    for line in stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _cumulative, name = line.removeprefix("import time:").split("|")
            modules[name.strip()] = modules.get(name.strip(), 0.0) + float(self_us) / 1000
    return modules


def attribute(runner: Runner, fns: list[str], reps: int) -> dict:
    """What each handler imports beyond the floor, by top-level package and by module (self ms).

    `python -X importtime` runs, interleaved (floor, then every function, `reps` times); per module the
    best (lowest) of the runs, since on a busy machine noise only ever adds time.
    """
    best: dict[str | None, dict[str, float]] = {}
    for _ in range(reps):
        for fn in [None, *fns]:
            _, stderr = runner.run(runner.args("floor" if fn is None else "import", fn), flags=("-X", "importtime"))
            for name, ms in _importtime(stderr).items():
                seen = best.setdefault(fn, {})
                seen[name] = min(ms, seen.get(name, ms))
    floor = best[None]
    floor_packages: dict[str, float] = defaultdict(float)
    for name, ms in floor.items():
        floor_packages[name.split(".")[0]] += ms
    result = {}
    for fn in fns:
        packages: dict[str, float] = defaultdict(float)
        for name, ms in best[fn].items():
            packages[name.split(".")[0]] += ms
        extra = {name: total - floor_packages.get(name, 0.0) for name, total in packages.items()}
        modules = {name: ms for name, ms in best[fn].items() if name not in floor}
        result[fn] = {
            "total_ms": round(sum(best[fn].values()), 1),
            "floor_total_ms": round(sum(floor.values()), 1),
            "top_extra_ms": [(k, round(v, 1)) for k, v in sorted(extra.items(), key=lambda kv: -kv[1])[:10]],
            "top_modules_ms": [(k, round(v, 1)) for k, v in sorted(modules.items(), key=lambda kv: -kv[1])[:12]],
        }
    return result


def run(args) -> tuple[list[Row], dict]:
    reps = 3 if args.quick else 9
    it_reps = 2 if args.quick else 3
    info: dict = {"reps": reps}
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp, moto_server() as endpoint:
        progress("cold start: the layer as shipped, for this machine")
        paths, info["layer"] = prepare(Path(tmp))
        use_local_aws(endpoint)
        runner = Runner(paths, endpoint)
        data = Data(runner)
        fns = list(FUNCTIONS)
        kinds = ["request", "bare", "import"]
        samples: dict[tuple[str, str | None], list[dict]] = defaultdict(list)

        def once(kind: str, fn: str | None) -> dict:
            event = data.event_file(fn) if kind in ("request", "bare") else None
            timing, _ = runner.run(runner.args(kind, fn, event))
            if event:
                event.unlink()
            return timing

        progress("cold start: warming up (one untimed run of every variant)")
        once("floor", None)
        for fn in fns:
            for kind in kinds:
                once(kind, fn)
        rng = random.Random(2024)  # noqa: S311 - only shuffles the run order
        for rep in range(reps):
            jobs = [("floor", None), ("floor", None)] + [(kind, fn) for fn in fns for kind in kinds]
            rng.shuffle(jobs)
            for kind, fn in jobs:
                samples[(kind, fn)].append(once(kind, fn))
            progress(f"cold start: repetition {rep + 1}/{reps} done")

        progress("cold start: python -X importtime attribution")
        info["importtime"] = attribute(runner, fns, it_reps)

    def med(kind: str, fn: str | None, part: str = "total") -> float:
        return median([s[part] for s in samples[(kind, fn)]]) * 1000

    floor = med("floor", None)
    info["floor_ms"] = {part: med("floor", None, part) for part in ("total", "startup", "imports", "work", "cpu")}
    rows = []
    for fn in fns:
        rows.append(
            Row(
                "cold start",
                f"{fn} as shipped: import + clients + first request, CPU",
                "ms",
                med("bare", fn, "cpu"),
                med("request", fn, "cpu"),
                max_ratio=TARGET,
                note=f"median CPU time of {reps} fresh processes; baseline: bench/bare.py, the same first request",
                extra={
                    "wall_ms": round(med("request", fn), 1),
                    "bare_wall_ms": round(med("bare", fn), 1),
                    "wall_ratio": round(med("request", fn) / med("bare", fn), 2),
                    "cpu_ms": round(med("request", fn, "cpu"), 1),
                    "bare_cpu_ms": round(med("bare", fn, "cpu"), 1),
                    "operation": OPERATION_OF[fn],
                }
                | {part: round(med("request", fn, part), 1) for part in ("startup", "imports", "work")},
            )
        )
    for fn in fns:
        parts = {part: round(med("import", fn, part), 1) for part in ("startup", "imports", "work", "cpu")}
        parts["cpu_ratio"] = round(med("import", fn, "cpu") / med("floor", None, "cpu"), 2)
        rows.append(
            Row(
                "cold start",
                f"{fn} as shipped: import + clients",
                "ms",
                floor,
                med("import", fn),
                note=f"median of {reps}; the floor: import boto3; client('dynamodb'). Where the time goes",
                extra=parts | {"clients": function_services(fn)},
            )
        )
    return rows, info


if __name__ == "__main__":
    section_main("coldstart", run)
