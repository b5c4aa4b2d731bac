"""Cold start: fresh processes, each timed from just before it is spawned until its work is done.

Per function the issue names (template.yaml), against the floor `import boto3; boto3.client("dynamodb")`:
  import         import the handler module and create the clients its first request would (the issue's target)
  as shipped     the same, with the layer's packages as `sam build` ships them: no .pyc, and /opt is
                 read-only on Lambda, so they are compiled from source at every cold start
And per function, against bench/bare.py making the same first request with bare boto3 in a fresh process:
  first request  import the handler module and handle one event against moto (server mode), secrets included

Runs are interleaved in a shuffled order every repetition, so drift hits baseline and candidate alike,
and every variant runs once untimed first (bytecode written, files in the page cache). The code under
test is copied to a temporary directory first: its .pyc go there, not into the repository.
Every run also reports its CPU time, a steadier measure than wall time when the machine is shared.
Finally `python -X importtime` attributes the import time, per package and module, against the floor's.
"""

from __future__ import annotations

import json
import platform
import random
import shutil
import subprocess
import sysconfig
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
    function_dir,
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
TARGET = 1.25
OPERATION_OF = {
    "InviteFunction": "invite",
    "AuthenticateFunction": "authenticate",
    "RevokeFunction": "revoke_invite",
    "CleanupFunction": "cleanup",
}
_NOT_LAYER = (".dist-info", ".data", ".txt", "__pycache__", "magiclink")


def _copy(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def prepare(tmp: Path) -> tuple[dict, list[str]]:
    """Copies of the code under test: task/<function>, opt/python (layer), opt-nopyc/python (layer as shipped)."""
    paths = {"task": {}, "opt": tmp / "opt" / "python", "nopyc": tmp / "opt-nopyc" / "python", "bench": tmp / "bench"}
    for fn in FUNCTIONS:
        paths["task"][fn] = tmp / "task" / fn
        _copy(function_dir(fn), paths["task"][fn])
    for target in (paths["opt"], paths["nopyc"]):
        _copy(LAYER / "magiclink", target / "magiclink")
    for name in ("cold_child.py", "bare.py"):
        _copy(HERE / name, paths["bench"] / name)
    # The layer's third-party packages: the names `sam build` put in the layer, the x86_64 files of this venv
    # (the built ones are arm64), without their bytecode.
    built = ROOT / ".aws-sam" / "build" / "MagicLinkLayer" / "python"
    site = Path(sysconfig.get_paths()["purelib"])
    missing = []
    if built.is_dir():
        for entry in sorted(built.iterdir()):
            if entry.name.endswith(".dist-info") and not (site / entry.name).is_dir():
                missing.append(f"{entry.name} (this venv has another version)")
            if entry.name.endswith(_NOT_LAYER):
                continue
            name = entry.name.replace("aarch64", platform.machine())  # top-level extension modules carry the arch
            if (site / name).exists():
                _copy(site / name, paths["nopyc"] / name)
            else:
                missing.append(entry.name)
    else:
        missing.append("(no .aws-sam/build: run `make build`)")
    return paths, missing


class Runner:
    def __init__(self, paths: dict, endpoint: str):
        self.paths = paths
        self.child = str(paths["bench"] / "cold_child.py")
        base = clean_env() | function_env(endpoint)
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env = base
        self.env_nopyc = base | {"PYTHONDONTWRITEBYTECODE": "1"}
        self.events = paths["bench"] / "events"
        self.events.mkdir(exist_ok=True)

    def args(self, kind: str, fn: str | None, event_file: Path | None = None) -> list[str]:
        if kind == "floor":
            return ["floor"]
        task = str(self.paths["task"][fn])
        services = ",".join(function_services(fn))
        if kind == "import":
            return ["import", task, str(self.paths["opt"]), services]
        if kind == "nopyc":
            return ["import", task, str(self.paths["nopyc"]), services]
        if kind == "request":
            return ["request", task, str(self.paths["opt"]), str(event_file), fn]
        return ["bare", str(self.paths["bench"]), OPERATION_OF[fn], str(event_file), services]

    def run(self, args: list[str], *, nopyc: bool = False, flags: tuple[str, ...] = ()) -> tuple[dict, str]:
        t0 = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - our own interpreter and script
            [PY, *flags, self.child, *args],
            env=self.env_nopyc if nopyc else self.env,
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
    nopyc_reps = 3 if args.quick else 5
    it_reps = 2 if args.quick else 3
    info: dict = {"reps": reps, "nopyc_reps": nopyc_reps}
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp, moto_server() as endpoint:
        paths, missing = prepare(Path(tmp))
        info["layer_packages_missing_from_venv"] = missing
        use_local_aws(endpoint)
        runner = Runner(paths, endpoint)
        data = Data(runner)
        fns = list(FUNCTIONS)
        kinds = ["import", "nopyc", "request", "bare"]
        samples: dict[tuple[str, str | None], list[dict]] = defaultdict(list)

        def once(kind: str, fn: str | None) -> dict:
            event = data.event_file(fn) if kind in ("request", "bare") else None
            timing, _ = runner.run(runner.args(kind, fn, event), nopyc=kind == "nopyc")
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
            jobs = [("floor", None), ("floor", None)]
            jobs += [(kind, fn) for fn in fns for kind in kinds if kind != "nopyc" or rep < nopyc_reps]
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
        parts = {part: round(med("import", fn, part), 1) for part in ("startup", "imports", "work", "cpu")}
        parts["cpu_ratio"] = round(med("import", fn, "cpu") / med("floor", None, "cpu"), 2)
        rows.append(
            Row(
                "cold start",
                f"{fn} import + clients",
                "ms",
                floor,
                med("import", fn),
                max_ratio=TARGET,
                note=f"median of {reps} fresh processes vs the floor (import boto3; client('dynamodb'))",
                extra=parts | {"clients": function_services(fn)},
            )
        )
    for fn in fns:
        rows.append(
            Row(
                "cold start",
                f"{fn} import + clients, layer as shipped (no .pyc)",
                "ms",
                floor,
                med("nopyc", fn),
                max_ratio=TARGET,
                note=f"median of {nopyc_reps}; layer packages compiled from source each time, as on Lambda",
                extra={"cpu_ratio": round(med("nopyc", fn, "cpu") / med("floor", None, "cpu"), 2)},
            )
        )
    for fn in fns:
        rows.append(
            Row(
                "cold start",
                f"{fn} import + first request",
                "ms",
                med("bare", fn),
                med("request", fn),
                max_ratio=TARGET,
                note=f"median of {reps}; baseline: bench/bare.py making the same first request in a fresh process",
                extra={
                    "vs_floor": round(med("request", fn) / floor, 2),
                    "cpu_ratio": round(med("request", fn, "cpu") / med("bare", fn, "cpu"), 2),
                },
            )
        )
    return rows, info


if __name__ == "__main__":
    section_main("coldstart", run)
