"""One cold start, in the fresh process this script is run as (bench/coldstart.py starts it many times).

    cold_child.py floor
        import boto3; boto3.client("dynamodb")                         (the issue's floor)
    cold_child.py import  FUNCTION_DIR LAYER_DIR SERVICES
        import the handler module, then create the clients its first request would create
    cold_child.py request FUNCTION_DIR LAYER_DIR INPUT_FILE NAME
        import the handler module and handle one event against the moto server in AWS_ENDPOINT_URL
    cold_child.py bare    BENCH_DIR OPERATION INPUT_FILE SERVICES
        the same first request made by bench/bare.py (bare boto3, no framework)

INPUT_FILE is JSON: {"event": the event, "shape": a stored reader item, for bare invites}.

Prints one line `BENCH {json}` with time.perf_counter() stamps (CLOCK_MONOTONIC, comparable with the
parent's): when this script started, when the imports were done, and when the work was done; the
process's CPU time at the end (less disturbed than wall time when the machine is busy); and
`from_venv`: the packages the function imported from this venv that Lambda's runtime does not provide
(it must import them from the layer: a non-empty list means the measurement is not of the layer).
Everything else on stdout (the functions' logs) is ignored.
"""

import sys
import time

T_MAIN = time.perf_counter()
_LOADED_BEFORE = set(sys.modules)
# What Lambda's python3.13 runtime provides besides the standard library: boto3 and its dependencies, the
# SnapStart hooks' library, and certifi, which botocore uses where it is installed (as here, for the floor too).
RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3", "snapshot_restore_py"}
RUNTIME_PACKAGES = RUNTIME | {"certifi"}


def _context(name: str) -> object:
    class Context:
        function_name = name
        function_version = "$LATEST"
        memory_limit_in_mb = 512
        invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        aws_request_id = "cold"
        log_group_name = f"/aws/lambda/{name}"
        log_stream_name = "cold"

        def get_remaining_time_in_millis(self) -> int:
            return 10_000

    return Context()


def _load(path: str) -> dict:
    import json

    with open(path) as f:
        return json.load(f)


def _create_clients(services: list[str]) -> list[str]:
    """Create the clients the way the first request would: the layer makes them lazily, once."""
    from magiclink import settings, store

    settings.get_settings()
    store.dynamo.client()
    made = ["dynamodb"]
    if "ses" in services:
        from magiclink import mailer

        mailer._client()
        made.append("sesv2")
    if "secretsmanager" in services:
        from magiclink import credentials

        credentials._provider()
        made.append("secretsmanager")
    return made


def _from_venv() -> list[str]:
    """Top-level packages imported since start-up from this venv's site-packages, other than the runtime's."""
    import sysconfig

    site = sysconfig.get_paths()["purelib"]
    found = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if name not in _LOADED_BEFORE and path.startswith(site) and name.split(".")[0] not in RUNTIME_PACKAGES:
            found.add(name.split(".")[0])
    return sorted(found)


def main(argv: list[str]) -> dict:
    mode = argv[0]
    result: dict = {"mode": mode}
    if mode == "floor":
        import boto3

        result["t_imported"] = time.perf_counter()
        boto3.client("dynamodb")
    elif mode in ("import", "request"):
        function_dir, layer_dir = argv[1], argv[2]
        sys.path[0:0] = [function_dir, layer_dir]
        import app  # the handler module, as Lambda imports it

        result["t_imported"] = time.perf_counter()
        if mode == "import":
            result["clients"] = _create_clients(argv[3].split(","))
        else:
            event = _load(argv[3])["event"]
            response = app.lambda_handler(event, _context(argv[4]))
            result["status"] = response.get("statusCode", 200) if isinstance(response, dict) else None
    elif mode == "bare":
        bench_dir, operation, input_file, services = argv[1:5]
        sys.path.insert(0, bench_dir)
        import bare

        result["t_imported"] = time.perf_counter()
        given = _load(input_file)
        response = bare.Bare(services.split(","), given.get("shape")).handle(operation, given["event"])
        result["status"] = response.get("statusCode", 200)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    result["t_end"] = time.perf_counter()
    result["cpu"] = time.process_time()  # user + system CPU of this process so far, interpreter start included
    result["t_main"] = T_MAIN
    result["from_venv"] = _from_venv()
    return result


if __name__ == "__main__":
    done = main(sys.argv[1:])
    import json

    sys.stdout.flush()
    print("BENCH " + json.dumps(done), flush=True)
