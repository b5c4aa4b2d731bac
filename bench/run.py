"""`make bench`: every benchmark, each against a baseline measured in the same run, as one table.

    .venv/bin/python -m bench.run [--only cold,warm,...] [--quick] [--json FILE] [--markdown FILE] [--strict]

Sections, each run in a process of its own (see the module docstrings for method):
  sizes       bench/sizes.py       package sizes from .aws-sam/build (run `make build` first; make bench does)
  roundtrips  bench/roundtrips.py  AWS calls per operation, counted with botocore's event hooks
  warm        bench/warm.py        handler in-process vs bare boto3, against moto in server mode
  cold        bench/coldstart.py   fresh processes, as shipped: import + clients + first request
  load        bench/load.py        the local stack under 8 concurrent clients
Then the cost sheet (bench/cost.py) from the round trips and warm timings.
Exit status: 1 if a section failed, or with --strict if a target was missed; else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import PY, ROOT, Row, clean_env, load_rows
from .cost import CPU_SCALE, latency_of, per_request, sheet

SECTIONS = {
    "sizes": "bench.sizes",
    "roundtrips": "bench.roundtrips",
    "warm": "bench.warm",
    "cold": "bench.coldstart",
    "load": "bench.load",
}


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "arch": platform.machine(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def run_section(name: str, quick: bool, tmp: Path) -> tuple[dict | None, str | None, float]:
    out, log = tmp / f"{name}.json", tmp / f"{name}.stdout"
    command = [PY, "-m", SECTIONS[name], "--out", str(out)] + (["--quick"] if quick else [])
    started = time.monotonic()
    print(f"== {name}", file=sys.stderr, flush=True)
    with log.open("w") as stdout:  # the functions' logs land here (warm.py measures their size)
        done = subprocess.run(command, cwd=ROOT, env=clean_env(), stdout=stdout, check=False)  # noqa: S603
    elapsed = time.monotonic() - started
    if done.returncode != 0 or not out.is_file():
        return None, f"{name} failed (exit {done.returncode}); see the traceback above", elapsed
    return json.loads(out.read_text()), None, elapsed


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("calls", "errors"):
        return f"{value:g}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def table(rows: list[Row], markdown: bool = False) -> str:
    header = ["benchmark", "baseline", "measured", "ratio", "target", "met?"]
    lines = []
    for r in rows:
        met = {True: "yes", False: "NO", None: "-"}[r.met]
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        cells = [
            "-" if v is None else _num(v, r.unit) + (f" {r.unit}" if r.unit else "") for v in (r.baseline, r.measured)
        ]
        lines.append([f"{r.section}: {r.name}", *cells, ratio, r.target or "-", met])
    if markdown:
        out = ["| " + " | ".join(header) + " |", "| --- | ---: | ---: | ---: | --- | --- |"]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=True)]
    fmt = "  ".join(f"{{:{'<' if i in (0, 4, 5) else '>'}{w}}}" for i, w in enumerate(widths))
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*cells) for cells in lines]
    return "\n".join(out)


def details(results: dict) -> str:
    """What explains the numbers: cold-start phases and import attribution, warm split, load, sizes."""
    out = []
    cold = results.get("cold")
    if cold:
        floor = cold["info"]["floor_ms"]
        out.append(f"Cold start, as shipped: {cold['info']['layer']}")
        out.append(
            f"  floor phases (median ms): interpreter {floor['startup']:.0f}, import boto3 "
            f"{floor['imports']:.0f}, create client {floor['work']:.0f}, total {floor['total']:.0f}"
        )
        for r in load_rows(cold):
            e = r.extra
            if r.name.endswith("import + clients"):
                out.append(
                    f"  {r.name.split()[0]}: interpreter {e['startup']:.0f}, import handler {e['imports']:.0f}, "
                    f"create clients ({', '.join(e['clients'])}) {e['work']:.0f}; CPU time {e['cpu']:.0f} ms "
                    f"= {e['cpu_ratio']:.2f}x the floor's {floor['cpu']:.0f}"
                )
        out.append("  first request (import + clients + first request): wall time, waits on moto included, vs bare's;")
        out.append("  and projected onto a 512 MB arm64 Lambda (CPU x3.46, plus bench/cost.py's latencies for the")
        out.append("  calls a cold request makes, the same on both sides):")
        for r in load_rows(cold):
            e = r.extra
            if "first request" in r.name:
                projected = ""
                calls = results.get("roundtrips", {}).get("info", {}).get("calls", {}).get(f"{e['operation']} cold")
                if calls:
                    latency = latency_of(calls["operations"])
                    svc, bare = (cpu * CPU_SCALE + latency for cpu in (e["cpu_ms"], e["bare_cpu_ms"]))
                    projected = f"; projected {svc:.0f} / {bare:.0f} ms = {svc / bare:.2f}x"
                out.append(
                    f"  {r.name.split()[0]}: import {e['imports']:.0f}, request {e['work']:.0f}; wall "
                    f"{e['wall_ms']:.0f} / {e['bare_wall_ms']:.0f} ms = {e['wall_ratio']:.2f}x{projected}"
                )
        out.append("Import time beyond the floor's (python -X importtime, self ms, best of the runs):")
        for fn, it in cold["info"]["importtime"].items():
            top = ", ".join(f"{name} {ms:.0f}" for name, ms in it["top_extra_ms"][:7])
            out.append(f"  {fn} ({it['total_ms']:.0f} vs floor {it['floor_total_ms']:.0f}), by package: {top}")
            top = ", ".join(f"{name} {ms:.0f}" for name, ms in it["top_modules_ms"][:6])
            out.append(f"    modules the floor does not import: {top}")
    trips = results.get("roundtrips")
    if trips:
        out.append("Round trips per invite scenario (warm): the calls, DynamoDB write units (a cancelled transaction")
        out.append("  counted as if it had written), and their latency on Lambda as bench/cost.py assumes it:")
        for label, calls in trips["info"]["calls"].items():
            if label.startswith("invite") and not label.endswith("cold"):
                ops = [op.split(":")[1] for op in calls["operations"]]
                out.append(
                    f"  {label}: {' + '.join(ops)}; {calls['units']['wru']:g} WRU; "
                    f"{latency_of(calls['operations']):.0f} ms"
                )
    warm = results.get("warm")
    if warm:
        out.append("Warm, median split per request (ms): inside AWS calls (moto) / Python; log bytes per request;")
        out.append("  and the ratio projected onto a 512 MB Lambda (Python x3.46, plus bench/cost.py's AWS latencies):")
        for r in load_rows(warm):
            e = r.extra
            operation = r.name.split()[0]
            projected = ""
            if "roundtrips" in results:
                latency = per_request(results, operation)["latency_ms"]
                svc, bare = (e["python_ms_median"][s] * CPU_SCALE + latency for s in ("svc", "bare"))
                projected = f"; projected {svc:.1f} / {bare:.1f} ms = {svc / bare:.2f}x"
            out.append(
                f"  {operation}: service {e['aws_ms_median']['svc']:.2f} / {e['python_ms_median']['svc']:.2f}"
                f", baseline {e['aws_ms_median']['bare']:.2f} / {e['python_ms_median']['bare']:.2f}"
                f"; {e['log_bytes_per_request']} B{projected}"
            )
    load = results.get("load")
    if load:
        info = load["info"]
        auth = info["authenticate"]
        out.append(
            f"Load, {info['workers']} workers: service {auth['service']['n']} authentications, p50 "
            f"{auth['service']['p50_ms']:.0f} ms p99 {auth['service']['p99_ms']:.0f} ms errors "
            f"{auth['service']['errors']}; baseline {auth['baseline']['n']}, "
            f"p50 {auth['baseline']['p50_ms']:.0f} ms p99 "
            f"{auth['baseline']['p99_ms']:.0f} ms; invites to make the tokens p50 {info['invites']['p50_ms']:.0f} ms"
            f" p99 {info['invites']['p99_ms']:.0f} ms"
        )
    sizes = results.get("sizes")
    if sizes:
        for r in load_rows(sizes):
            if "largest_kb" in r.extra:
                top = ", ".join(f"{k} {v / 1024:.1f} MB" for k, v in r.extra["largest_kb"][:6])
                out.append(f"Layer unzipped {r.extra['unzipped_kb'] / 1024:.1f} MB, largest: {top}")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: to try the benchmarks out")
    parser.add_argument("--json", type=Path, help="write every section's rows and details here")
    parser.add_argument("--markdown", type=Path, help="write the table and the cost sheet as Markdown here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(SECTIONS)
    unknown = set(names) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")

    info = machine()
    results: dict[str, dict] = {}
    failures: list[str] = []
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for name in names:
            data, failure, elapsed = run_section(name, args.quick, Path(tmp))
            timings[name] = elapsed
            if failure:
                failures.append(failure)
            else:
                results[name] = data
    rows = [row for name in names if name in results for row in load_rows(results[name])]
    cost_text, total = sheet(results)

    print()
    print(
        f"magiclink benchmarks, {info['date']}: {info['cpus']} x {info['cpu']} ({info['arch']}), "
        f"Python {info['python']}, {info['os']}" + (" [--quick]" if args.quick else "")
    )
    print()
    print(table(rows))
    print()
    print(details(results))
    print()
    print("Cost sheet")
    print(cost_text)
    print()
    print("Section times: " + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()))
    missed = [r for r in rows if r.met is False]
    print(
        f"Targets: {sum(1 for r in rows if r.met)} met, {len(missed)} missed"
        + (f"; FAILED: {failures}" if failures else "")
    )

    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results, "cost_total_usd": total}, indent=2))
    if args.markdown:
        args.markdown.write_text(table(rows, markdown=True) + "\n\n" + cost_text + "\n")
    if failures:
        return 1
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
