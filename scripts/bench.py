"""The harness of scripts/bench: measures the function against its performance targets and prints
one Markdown table (also written to target/bench.md). Run it through scripts/bench, which sets up
the tools and builds the binaries; see that script's header for what each part measures.

    .venv/bin/python scripts/bench.py --function BIN --standin BIN [--smoke] [PART...]

PART is init, scale, rate, sweep or size (default: all of them, in that order). Every comparison
is measured side by side in this run. Targets are marked, not asserted: the exit status is 0 when
every scenario ran, 1 when the harness failed (a process did not start, an invocation returned an
error, ...).
"""

import argparse
import collections
import json
import math
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PARTS = ["init", "scale", "accept", "rate", "sweep", "organisation", "size"]

# The 17 regions of the sweep; a scale scenario of R regions takes the first R.
REGIONS_17 = (
    "us-east-1 us-east-2 us-west-1 us-west-2 eu-west-1 eu-west-2 eu-west-3 eu-central-1 eu-north-1 "
    "ap-south-1 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-southeast-1 ap-southeast-2 "
    "ca-central-1 sa-east-1"
).split()
INIT_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]
# The function's own account (in its ARN) and the stand-in's administrator; not moto's
# management account, which is a member of moto's organisation like any other.
ADMIN_ACCOUNT = "999999999999"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ADMIN_ACCOUNT}:function:onboarder"
SENDER = "guardduty-onboarding@example.com"
LATENCY_MS = 20
RATE_LIMIT = 10
SWEEP_RSS_TARGET_MIB = 64
SIZE_TARGET_MIB = 6
INIT_TARGET_RATIO = 100
MIB = 1024 * 1024


class HarnessError(Exception):
    """The harness could not measure: a process did not start, an invocation failed, ..."""


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


# ----- facts read from the sources at run time -----


def source_constant(path, name):
    text = (ROOT / path).read_text()
    found = re.search(rf"\bconst {name}: (?:usize|u32) = ([0-9_]+);", text)
    if not found:
        raise HarnessError(f"cannot find the constant {name} in {path}")
    return int(found.group(1).replace("_", ""))


def template_timeout():
    for line in (ROOT / "template.yaml").read_text().splitlines():
        value = line.strip().removeprefix("Timeout: ")
        if value != line.strip() and value.isdigit():
            return int(value)
    raise HarnessError("template.yaml sets no Timeout")


# ----- processes -----


class Processes:
    """Every process the harness starts, stopped by its pid."""

    def __init__(self, logs):
        self.logs = logs
        self.running = []

    def spawn(self, argv, name, env=None, cwd=ROOT):
        out = open(self.logs / f"{name}.log", "wb")
        try:
            proc = subprocess.Popen(
                [str(a) for a in argv], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        except OSError as e:
            raise HarnessError(f"cannot start {name} ({argv[0]}): {e}") from e
        finally:
            out.close()
        proc.bench_name = name
        self.running.append(proc)
        return proc

    def stop(self, proc):
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self):
        for proc in list(self.running):
            self.stop(proc)

    def tail(self, name, lines=20):
        try:
            text = (self.logs / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def peak_rss_kib(pid):
    """VmHWM of a process, in KiB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError as e:
        raise HarnessError(f"cannot read the peak memory of process {pid}: {e}") from e
    raise HarnessError(f"process {pid} has no VmHWM")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----- the local Lambda Runtime API -----

RUNTIME = "/2018-06-01/runtime"
RESULT_PATH = re.compile(rf"^{RUNTIME}/invocation/([^/]+)/(response|error)$")


class Invocation:
    def __init__(self, event):
        self.request_id = str(uuid.uuid4())
        self.body = json.dumps(event).encode()
        self.handed_out = None
        self.finished = None
        self.kind = None
        self.result = None
        self.done = threading.Event()


class RuntimeApi:
    """A Lambda Runtime API on 127.0.0.1 for one function process at a time: `start` begins a
    session for a process about to be spawned, `invoke` queues an event for it."""

    def __init__(self):
        self.cond = threading.Condition()
        self.generation = 0
        self.pid = None
        self.first_next = None  # (perf_counter, VmHWM KiB) of the session's first GET /next
        self.init_error = None
        self.pending = collections.deque()
        self.invocations = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b'{"status":"OK"}', headers=()):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def read_body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self):
                arrived = time.perf_counter()
                if self.path != f"{RUNTIME}/invocation/next":
                    self.reply(404, b'{"errorMessage":"not found"}')
                    return
                generation = api.arrived_next(arrived)
                invocation = api.next_invocation(generation)
                if invocation is None:  # the session is over: this process is being stopped
                    self.reply(410, b'{"errorMessage":"session over"}')
                    return
                deadline_ms = int((time.time() + 900) * 1000)
                invocation.handed_out = time.perf_counter()
                self.reply(200, invocation.body, [
                    ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                    ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN),
                    ("Lambda-Runtime-Trace-Id",
                     f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"),
                ])

            def do_POST(self):
                body = self.read_body()
                finished = time.perf_counter()
                if self.path == f"{RUNTIME}/init/error":
                    with api.cond:
                        api.init_error = body.decode(errors="replace")
                        api.cond.notify_all()
                    self.reply(202)
                    return
                matched = RESULT_PATH.match(self.path)
                invocation = matched and api.invocations.get(matched.group(1))
                if not invocation:
                    self.reply(404, b'{"errorMessage":"unknown request id"}')
                    return
                invocation.finished = finished
                invocation.kind = matched.group(2)
                invocation.result = body
                invocation.done.set()
                self.reply(202)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A stopped process's connection: nothing to answer.
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def start(self):
        """A new session; an earlier process's waiting GET /next is answered 410."""
        with self.cond:
            self.generation += 1
            self.pid = None
            self.first_next = None
            self.init_error = None
            self.pending.clear()
            self.invocations = {}
            self.cond.notify_all()

    def set_pid(self, pid):
        with self.cond:
            self.pid = pid
            self.cond.notify_all()

    def arrived_next(self, arrived):
        with self.cond:
            generation = self.generation
            if self.first_next is None:
                # The process is spawned before its pid is known here; wait for it.
                self.cond.wait_for(lambda: self.pid is not None or self.generation != generation, 5)
                if self.pid is not None and self.generation == generation:
                    self.first_next = (arrived, peak_rss_kib(self.pid))
                    self.cond.notify_all()
            return generation

    def next_invocation(self, generation):
        with self.cond:
            while True:
                if self.generation != generation:
                    return None
                if self.pending:
                    return self.pending.popleft()
                self.cond.wait(0.5)

    def wait_ready(self, proc, timeout):
        """Waits for the process's first GET /next; returns (perf_counter, VmHWM KiB)."""
        ends = time.monotonic() + timeout
        with self.cond:
            while self.first_next is None:
                if self.init_error is not None:
                    raise HarnessError(f"{proc.bench_name} failed its init: {self.init_error[:500]}")
                if proc.poll() is not None:
                    raise HarnessError(f"{proc.bench_name} exited ({proc.returncode}) before asking for an invocation")
                if time.monotonic() > ends:
                    raise HarnessError(f"{proc.bench_name} did not ask for an invocation within {timeout} s")
                self.cond.wait(0.05)
            return self.first_next

    def invoke(self, event, proc, timeout):
        invocation = Invocation(event)
        with self.cond:
            self.invocations[invocation.request_id] = invocation
            self.pending.append(invocation)
            self.cond.notify_all()
        ends = time.monotonic() + timeout
        while not invocation.done.wait(0.2):
            if proc.poll() is not None:
                raise HarnessError(f"{proc.bench_name} exited ({proc.returncode}) during an invocation")
            if time.monotonic() > ends:
                raise HarnessError(f"{proc.bench_name} did not answer an invocation within {timeout} s")
        if invocation.kind != "response":
            raise HarnessError(
                f"{proc.bench_name}: the invocation returned an error: {invocation.result[:500].decode(errors='replace')}")
        return invocation


def lambda_env(api, settings):
    """The environment Lambda gives a function, and the function's own settings."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": "onboarder",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/onboarder",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2025/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "REPORT_SENDER": SENDER,
        "REPORT_RECIPIENTS": "secops@example.com",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
    }
    env.update(settings)
    return env


# ----- moto and the stand-in -----


class Moto:
    """One moto server for the run (SES v2 for the reports, Organizations for the sweep)."""

    def __init__(self, procs):
        self.procs = procs
        self.url = None
        self.organisation = 0  # accounts created in moto's organisation so far

    def ensure(self):
        if self.url:
            return self.url
        port = free_port()
        proc = self.procs.spawn([VENV_BIN / "moto_server", "-H", "127.0.0.1", "-p", port], "moto")
        url = f"http://127.0.0.1:{port}"
        ends = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > ends:
                    raise HarnessError(f"moto did not start:\n{self.procs.tail('moto')}")
                time.sleep(0.2)
        self.url = url
        self.client("sesv2").create_email_identity(EmailIdentity=SENDER)
        return url

    def client(self, service):
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id="x", aws_secret_access_key="x")


def start_standin(procs, binary, name, regions, extra=()):
    detectors = []
    for n, region in enumerate(regions, 1):
        detectors += ["--detector", f"{region}={n:032x}"]
    proc = procs.spawn([binary, "--port", "0", "--admin-account", ADMIN_ACCOUNT,
                        "--latency-ms", LATENCY_MS, *detectors, *extra], name)
    ends = time.monotonic() + 30
    while True:
        text = (procs.logs / f"{name}.log").read_text(errors="replace")
        found = re.search(r"^listening on (http://\S+)$", text, re.M)
        if found:
            return proc, found.group(1)
        if proc.poll() is not None or time.monotonic() > ends:
            raise HarnessError(f"the stand-in did not start:\n{procs.tail(name)}")
        time.sleep(0.05)


def standin_state(url):
    with urllib.request.urlopen(url + "/_standin/state", timeout=120) as answer:
        return json.load(answer)


PREPARE_OPERATIONS = {"ListDetectors", "DescribeOrganizationConfiguration", "DescribeHub"}


def count_calls(state):
    """The member-API calls a run made: ListRegions without accounts is not one of them."""
    calls = [c for c in state["calls"] if c["account_ids"] or c["operation"] != "ListRegions"]
    by_operation = collections.Counter(c["operation"] for c in calls)
    writes = by_operation["CreateMembers"] + by_operation["InviteMembers"]
    checks = by_operation["GetMembers"] + by_operation["ListMembers"]
    prepare = sum(n for op, n in by_operation.items() if op in PREPARE_OPERATIONS)
    other = len(calls) - writes - checks - prepare
    return {
        "calls": calls,
        "all": len(calls),
        "by_operation": by_operation,
        "writes": writes,
        "checks": checks,
        "prepare": prepare,
        "other": other,
        "largest": max((len(c["account_ids"]) for c in calls), default=0),
        "throttled": sum(1 for c in calls if c["status"] == 429),
    }


def run_function(procs, api, binary, name, env, events, timeout, walls=None):
    """A fresh function process answers the events one after another. Returns the wall time
    (first event handed out → last response posted), the peak RSS after them, and the responses;
    `walls`, a list, receives each invocation's wall."""
    api.start()
    proc = procs.spawn([binary], name, env=lambda_env(api, env))
    api.set_pid(proc.pid)
    try:
        api.wait_ready(proc, 60)
        done = [api.invoke(event, proc, timeout) for event in events]
        peak = peak_rss_kib(proc.pid)
    except HarnessError as e:
        raise HarnessError(f"{e}\n{procs.tail(name)}") from e
    finally:
        procs.stop(proc)
        api.start()
    responses = [json.loads(d.result) for d in done]
    if walls is not None:
        walls.extend(d.finished - d.handed_out for d in done)
    return done[-1].finished - done[0].handed_out, peak, responses


# ----- the table -----


class Table:
    HEADER = ["figure", "measured", "compared with", "ratio", "target", "met"]

    def __init__(self):
        self.rows = []
        self.notes = []
        self.failures = []

    def add(self, figure, measured, compared="–", ratio="–", target="–", met="–"):
        self.rows.append([figure, measured, compared, ratio, target, met])

    def markdown(self):
        rows = [self.HEADER, ["---"] * 6] + self.rows
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        lines = []
        for r in rows:
            if r[0] == "---":
                lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
            else:
                lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
        return "\n".join(lines)


def check(ok):
    return "✓" if ok else "✗"


def n(value):
    return f"{value:,}"


def plural(count, one, many):
    return f"{n(count)} {one if count == 1 else many}"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def secs(value):
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def times(ratio):
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


# ----- the parts -----


# Ours against the minimal lambda_runtime function (floor/), built with the same profile.
FLOOR_TARGET_RATIO = 1.75


def part_init(ctx, table):
    if not (ctx.floor and ctx.floor.exists()):
        raise HarnessError(f"the floor function {ctx.floor} is missing: build it as the function was "
                           "(cargo build [--release] -p floor) or name it with --floor")
    spawns = 3 if ctx.smoke else 15
    env = {
        "REGIONS": ",".join(INIT_REGIONS),
        "ENABLE_SECURITY_HUB": "true",
        "MEMBER_ROLE_NAME": "OrganizationAccountAccessRole",
    }
    contenders = {
        "floor": [ctx.floor],
        "ours": [ctx.function],
        "boto3": [VENV_BIN / "python", ROOT / "scripts" / "bench_boto3_function.py"],
    }
    samples = {k: [] for k in contenders}

    def once(kind):
        ctx.api.start()
        started = time.perf_counter()
        proc = ctx.procs.spawn(contenders[kind], f"init-{kind}", env=lambda_env(ctx.api, env))
        ctx.api.set_pid(proc.pid)
        try:
            ready, hwm = ctx.api.wait_ready(proc, 60)
        except HarnessError as e:
            raise HarnessError(f"{e}\n{ctx.procs.tail(f'init-{kind}')}") from e
        finally:
            ctx.procs.stop(proc)
        return ready - started, hwm

    log(f"init: one untimed start of each, then {spawns} of each, interleaved")
    for kind in contenders:
        once(kind)
    for _ in range(spawns):
        for kind in contenders:
            samples[kind].append(once(kind))
    ours_ms = statistics.median(s[0] for s in samples["ours"]) * 1000
    boto_ms = statistics.median(s[0] for s in samples["boto3"]) * 1000
    ours_rss = statistics.median(s[1] for s in samples["ours"])
    boto_rss = statistics.median(s[1] for s in samples["boto3"])
    ratio = boto_ms / ours_ms
    clients = f"{len(INIT_REGIONS)} regions, GuardDuty + Security Hub, member role"
    table.add(f"init: spawn → first GET /next (median of {spawns}; {clients})",
              f"{ours_ms:.1f} ms (range {min(s[0] for s in samples['ours']) * 1000:.1f}–"
              f"{max(s[0] for s in samples['ours']) * 1000:.1f})",
              f"boto3 {boto_ms:.0f} ms (range {min(s[0] for s in samples['boto3']) * 1000:.0f}–"
              f"{max(s[0] for s in samples['boto3']) * 1000:.0f})",
              f"{times(ratio)} (boto3 ÷ ours)", f"≥ {INIT_TARGET_RATIO}×", check(ratio >= INIT_TARGET_RATIO))
    # Against the floor: the ratio within each round (the three start one after another), so
    # that the machine's drift between rounds cancels out; the median of those ratios.
    floor_ms = statistics.median(s[0] for s in samples["floor"]) * 1000
    rounds = [o[0] / f[0] for o, f in zip(samples["ours"], samples["floor"])]
    floor_ratio = statistics.median(rounds)
    table.add(f"init against the floor: a minimal lambda_runtime function, same profile (median of {spawns} per-round ratios)",
              f"ours {ours_ms:.1f} ms", f"floor {floor_ms:.1f} ms (range {min(s[0] for s in samples['floor']) * 1000:.1f}–"
              f"{max(s[0] for s in samples['floor']) * 1000:.1f})",
              f"{times(floor_ratio)} (ours ÷ floor; rounds {min(rounds):.2f}–{max(rounds):.2f})",
              f"≤ {FLOOR_TARGET_RATIO}×", check(floor_ratio <= FLOOR_TARGET_RATIO))
    floor_rss = statistics.median(s[1] for s in samples["floor"])
    table.add(f"idle peak RSS: VmHWM at the first GET /next (median of {spawns})", mib(ours_rss),
              f"boto3 {mib(boto_rss)}; floor {mib(floor_rss)}", f"{times(boto_rss / ours_rss)} (boto3 ÷ ours)")


def accounts(count, start=0):
    return [{"accountId": f"{100000000000 + i:012d}", "email": f"owner{i}@example.com"}
            for i in range(start, start + count)]


def scale_env(standin, moto, regions):
    return {
        "REGIONS": ",".join(regions),
        "AWS_ENDPOINT_URL_GUARDDUTY": standin,
        "AWS_ENDPOINT_URL_SECURITYHUB": standin,
        "AWS_ENDPOINT_URL_ACCOUNT": standin,
        "AWS_ENDPOINT_URL_SESV2": moto,
        "AWS_ENDPOINT_URL_ORGANIZATIONS": moto,
        "AWS_ENDPOINT_URL_STS": moto,
    }


def onboard(ctx, name, count, region_count, extra=()):
    """A manual invoke of COUNT new accounts (emails given) in the first REGION_COUNT regions,
    on a fresh function process and a fresh stand-in; split into invocations of at most
    MAX_ACCOUNTS accounts when larger (the function refuses more)."""
    moto = ctx.moto.ensure()
    regions = REGIONS_17[:region_count]
    standin_proc, standin = start_standin(ctx.procs, ctx.standin, f"standin-{name}", regions, extra)
    try:
        events = [{"accounts": accounts(min(ctx.max_accounts, count - start), start)}
                  for start in range(0, count, ctx.max_accounts)]
        wall, peak, responses = run_function(ctx.procs, ctx.api, ctx.function, f"function-{name}",
                                             scale_env(standin, moto, regions), events, 1000)
        state = standin_state(standin)
    finally:
        ctx.procs.stop(standin_proc)
    invited = sum(r["counts"]["invited"] for r in responses)
    unprocessed = sum(r["counts"]["unprocessed"] for r in responses)
    return {
        "wall": wall,
        "peak": peak,
        "invited": invited,
        "unprocessed": unprocessed,
        "invitations": len(state["invitations"]),
        "invocations": len(events),
        "per_invocation": [len(e["accounts"]) for e in events],
        "calls": count_calls(state),
        "sent": all(r["report"].get("sent") for r in responses),
    }


def batches(count, per):
    return math.ceil(count / per)


def part_scale(ctx, table):
    scenarios = [(50, 1), (1000, 4)] if ctx.smoke else [
        (count, regions) for count in (50, 1000, 10000) for regions in (1, 4, 17)]
    for count, region_count in scenarios:
        label = f"scale {n(count)} × {region_count}"
        log(f"{label}: {n(count)} new accounts in {plural(region_count, 'region', 'regions')}, {LATENCY_MS} ms a call")
        got = onboard(ctx, f"scale-{count}x{region_count}", count, region_count)
        targeted = (count, region_count) == (1000, 4)
        # The latency chain: each batch goes check → create → invite, BATCH_CONCURRENCY batches
        # of a region at a time; invocations (of at most MAX_ACCOUNTS) run one after another.
        rounds = sum(math.ceil(batches(k, ctx.max_batch) / ctx.concurrency) for k in got["per_invocation"])
        limit = 3 * LATENCY_MS / 1000 * rounds
        split = f", {got['invocations']} invocations of {n(ctx.max_accounts)}" if got["invocations"] > 1 else ""
        ratio = got["wall"] / limit
        table.add(f"{label}: wall, event out → response{split}", secs(got["wall"]),
                  f"latency chain {secs(limit)} = 3 × {LATENCY_MS} ms × {rounds} "
                  f"(⌈{plural(batches(count, ctx.max_batch) // got['invocations'], 'batch', 'batches')} ÷ {ctx.concurrency}⌉"
                  + (f" × {got['invocations']}" if got["invocations"] > 1 else "") + ")",
                  f"{times(ratio)}", "≤ 2×" if targeted else "–", check(ratio <= 2) if targeted else "–")
        calls = got["calls"]
        per_region = sum(batches(k, ctx.max_batch) for k in got["per_invocation"])
        ideal = 2 * per_region * region_count
        want = count * region_count
        invited = f"{n(got['invited'])} of {n(want)} invited" + ("" if got["invited"] == want else " ⚠")
        table.add(f"{label}: create + invite calls", f"{n(calls['writes'])}; {invited}",
                  f"ideal 2 × {n(per_region)} × {region_count} = {n(ideal)}", times(calls["writes"] / ideal),
                  "= ideal" if targeted else "–",
                  check(calls["writes"] == ideal and got["invited"] == want) if targeted else "–")
        bound = per_region * region_count
        prepare = ", ".join(f"{op} {calls['by_operation'][op]}" for op in sorted(PREPARE_OPERATIONS)
                            if calls["by_operation"][op])
        table.add(f"{label}: status checks (GetMembers, ListMembers)",
                  f"{n(calls['checks'])} (+ per-region setup: {prepare or 'none'})"
                  + (f" (+ {calls['other']} other)" if calls["other"] else ""),
                  f"bound {n(per_region)} × {region_count} = {n(bound)}", times(calls["checks"] / bound),
                  "≤ bound" if targeted else "–", check(calls["checks"] <= bound) if targeted else "–")
        table.add(f"{label}: peak RSS after the invocation", mib(got["peak"]))
        note_problems(table, label, got, want)


# The member role the acceptance scenarios name; the stand-in's STS lets any role be assumed.
MEMBER_ROLE = "OnboarderAccept"
# Acceptance at scale: the target wall for 2,000 accounts × 4 regions × 2 services at 100 ms a
# call, and STS's documented request rate (src/member_role.rs: STS_DOCUMENTED_RATE).
ACCEPT_LATENCY_MS = "100"
ACCEPT_TARGET_S = 40


def peak_per_second(times_ms):
    """The most calls that started within any one second (a sliding window over the calls'
    arrival times, in milliseconds)."""
    times_ms = sorted(times_ms)
    best, first = 0, 0
    for last, t in enumerate(times_ms):
        while t - times_ms[first] >= 1000:
            first += 1
        best = max(best, last - first + 1)
    return best


def part_accept(ctx, table):
    """New accounts invited in GuardDuty and Security Hub (by invitation) in 4 regions, then
    accepted in every member account through the member role, with every call (STS's
    AssumeRole included, which the stand-in serves) answered after 100 ms."""
    count, region_count = (200, 2) if ctx.smoke else (2000, 4)
    bounds = [ctx.member_concurrency] if ctx.smoke else sorted({8, 16, ctx.member_concurrency, 64})
    sts_rate = source_constant("src/member_role.rs", "STS_DOCUMENTED_RATE")
    regions = REGIONS_17[:region_count]
    moto = ctx.moto.ensure()
    want = count * region_count * 2
    for bound in bounds:
        label = f"accept {n(count)} × {region_count} × 2, MEMBER_CONCURRENCY {bound}"
        default = bound == ctx.member_concurrency
        log(f"{label}: {ACCEPT_LATENCY_MS} ms a call, STS served by the stand-in")
        extra = ["--serve-sts", "--latency-ms", ACCEPT_LATENCY_MS]
        for region in regions:
            extra += ["--security-hub", region]
        name = f"accept-{count}x{region_count}-{bound}"
        standin_proc, standin = start_standin(ctx.procs, ctx.standin, f"standin-{name}", regions, extra)
        try:
            env = {**scale_env(standin, moto, regions), "AWS_ENDPOINT_URL_STS": standin,
                   "ENABLE_SECURITY_HUB": "true", "MEMBER_ROLE_NAME": MEMBER_ROLE,
                   "MEMBER_CONCURRENCY": str(bound)}
            wall, peak, responses = run_function(ctx.procs, ctx.api, ctx.function, f"function-{name}", env,
                                                 [{"accounts": accounts(count)}], 1000)
            state = standin_state(standin)
        finally:
            ctx.procs.stop(standin_proc)
        counts = responses[0]["counts"]
        calls = state["calls"]
        assumed = [c["at_ms"] for c in calls if c["operation"] == "AssumeRole"]
        throttled = sum(1 for c in calls if c["status"] == 429)
        accepted = counts["accepted"]
        table.add(f"{label}: wall, event out → response", secs(wall),
                  f"{n(len(calls))} calls; {n(accepted)} of {n(want)} accepted"
                  + ("" if accepted == want else " ⚠") + f"; peak RSS {mib(peak)}",
                  "–", f"≤ {ACCEPT_TARGET_S} s" if default else "–",
                  check(wall <= ACCEPT_TARGET_S and accepted == want) if default else "–")
        busiest = peak_per_second(assumed)
        table.add(f"{label}: AssumeRole, most in any second; calls throttled",
                  f"{n(busiest)}/s of {n(len(assumed))}; {n(throttled)} throttled",
                  f"STS documents {sts_rate}/s per account and region", times(busiest / sts_rate),
                  "< 1×, none throttled" if default else "–",
                  check(busiest < sts_rate and throttled == 0) if default else "–")
        if counts["unprocessed"] or counts["needs_action"]:
            table.notes.append(f"{label}: {n(counts['unprocessed'])} unprocessed, "
                               f"{n(counts['needs_action'])} need action")


def note_problems(table, label, got, want):
    calls = got["calls"]
    failed = [c for c in calls["calls"] if c["status"] != 200 and c["operation"] != "DescribeOrganizationConfiguration"]
    if got["invited"] != want or got["unprocessed"]:
        table.notes.append(f"{label}: {n(got['invited'])} of {n(want)} invited, "
                           f"{n(got['unprocessed'])} unprocessed (the stand-in recorded {n(got['invitations'])} invitations)")
    if failed:
        statuses = collections.Counter(c["status"] for c in failed)
        table.notes.append(f"{label}: {n(len(failed))} calls not answered 200 "
                           f"({', '.join(f'{n(k)} × {s}' for s, k in sorted(statuses.items()))})")
    if not got["sent"]:
        table.notes.append(f"{label}: the report was not sent")


def part_rate(ctx, table):
    label = f"rate-limited 1,000 × 4 ({RATE_LIMIT}/s)"
    log(f"{label}: the stand-in lets {RATE_LIMIT} calls a second through per service, operation and region")
    got = onboard(ctx, "rate-1000x4", 1000, 4, ["--rate-limit", RATE_LIMIT])
    calls = got["calls"]
    through = collections.Counter((c["service"], c["operation"], c["region"])
                                  for c in calls["calls"] if c["status"] != 429)
    (service, operation, region), busiest = through.most_common(1)[0]
    tied = sum(1 for k in through.values() if k == busiest)
    floor = busiest / RATE_LIMIT
    ratio = got["wall"] / floor
    table.add(f"{label}: wall, event out → response", secs(got["wall"]),
              f"rate floor {secs(floor)} = {busiest} calls that got through for the busiest ({operation}, {region}"
              + (f"; {tied} tied" if tied > 1 else "") + f") ÷ {RATE_LIMIT}/s",
              times(ratio), "≤ 1.5×", check(ratio <= 1.5))
    # The stand-in's bucket starts full: the first RATE_LIMIT calls of each key pass at once.
    burst_floor = max(busiest - RATE_LIMIT, 0) / RATE_LIMIT
    if burst_floor > 0:
        table.notes.append(
            f"{label}: the stand-in's token bucket starts full ({RATE_LIMIT} calls), so the tightest floor is "
            f"({busiest} − {RATE_LIMIT}) ÷ {RATE_LIMIT}/s = {secs(burst_floor)}; against it the wall is "
            f"{times(got['wall'] / burst_floor)}")
    share = calls["throttled"] / calls["all"]
    table.add(f"{label}: calls throttled", f"{n(calls['throttled'])} of {n(calls['all'])} answered 429",
              "all calls", f"{share * 100:.1f} %", "≤ 5 %", check(share <= 0.05))
    want = 1000 * 4
    table.add(f"{label}: accounts invited, peak RSS",
              f"{n(got['invited'])} of {n(want)}" + ("" if got["invited"] == want else " ⚠") + f"; {mib(got['peak'])}")
    note_problems(table, label, got, want)


def part_sweep(ctx, table):
    count = 200 if ctx.smoke else 10000
    regions = REGIONS_17
    moto = ctx.moto.ensure()
    org = ctx.moto.client("organizations")
    if ctx.moto.organisation == 0:
        org.create_organization(FeatureSet="ALL")
    missing = count - ctx.moto.organisation
    log(f"sweep: creating {n(missing)} accounts in moto's organisation (8 at a time)")
    started = time.monotonic()
    created = [0]
    lock = threading.Lock()

    def create(i):
        org.create_account(Email=f"member{i}@example.com", AccountName=f"acct-{i}")
        with lock:
            created[0] += 1
            if created[0] % 1000 == 0:
                log(f"sweep: {n(created[0])} accounts created ({time.monotonic() - started:.0f} s)")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(ctx.moto.organisation, count)))
    ctx.moto.organisation = count
    log(f"sweep: {n(missing)} accounts created in {time.monotonic() - started:.0f} s; paging ListAccounts alone")
    started, token, pages, listed = time.perf_counter(), None, 0, []
    while True:
        page = org.list_accounts(MaxResults=20, **({"NextToken": token} if token else {}))
        pages += 1
        listed += [a for a in page["Accounts"] if a["Status"] == "ACTIVE"]
        token = page.get("NextToken")
        if not token:
            break
    paging = time.perf_counter() - started
    organisation = len(listed)  # moto's management account included
    log(f"sweep: moto pages {n(organisation)} accounts in {paging:.1f} s; sweeping {len(regions)} regions")
    standin_proc, standin = start_standin(ctx.procs, ctx.standin, "standin-sweep", regions)
    try:
        wall, peak, responses = run_function(ctx.procs, ctx.api, ctx.function, "function-sweep",
                                             scale_env(standin, moto, regions), [{"sweep": True}],
                                             ctx.timeout + 60)
        state = standin_state(standin)
    finally:
        ctx.procs.stop(standin_proc)
    label = f"sweep {n(organisation)} × {len(regions)}"
    ratio = wall / ctx.timeout
    table.add(f"{label}: wall, event out → response", secs(wall),
              f"one invocation: template Timeout {ctx.timeout} s", f"{ratio:.2g}×", "≤ 1×", check(ratio <= 1))
    table.add(f"{label}: peak RSS after the sweep", mib(peak), f"{SWEEP_RSS_TARGET_MIB} MiB",
              f"{peak / 1024 / SWEEP_RSS_TARGET_MIB:.3f}×", f"≤ {SWEEP_RSS_TARGET_MIB} MiB",
              check(peak <= SWEEP_RSS_TARGET_MIB * 1024))
    table.add(f"{label}: moto alone pages ListAccounts (20 a page)", f"{secs(paging)} for {pages} pages",
              f"the sweep's wall {secs(wall)}", f"{paging / wall:.2f}× (moto ÷ sweep)")
    got = {"wall": wall, "peak": peak, "calls": count_calls(state),
           "invited": sum(r["counts"]["invited"] for r in responses),
           "unprocessed": sum(r["counts"]["unprocessed"] for r in responses),
           "invitations": len(state["invitations"]), "sent": all(r["report"].get("sent") for r in responses)}
    calls = got["calls"]
    ideal = 2 * batches(organisation, ctx.max_batch) * len(regions)
    want = organisation * len(regions)
    table.add(f"{label}: member-API calls",
              f"{n(calls['writes'])} create + invite, {n(calls['by_operation']['ListMembers'])} ListMembers, "
              f"{n(calls['by_operation']['GetMembers'])} GetMembers; {n(got['invited'])} of {n(want)} invited"
              + ("" if got["invited"] == want else " ⚠"),
              f"create + invite ideal 2 × {batches(organisation, ctx.max_batch)} × {len(regions)} = {n(ideal)}",
              times(calls["writes"] / ideal))
    note_problems(table, label, got, want)


class SesCapture:
    """SES v2's SendEmail on 127.0.0.1, for the organisation part: it records each request's
    size (the JSON SES receives: the text, the HTML and the attachment base64-encoded, which is
    what the email weighs) and answers a message id, as SES does."""

    def __init__(self):
        self.sizes = []
        self.attachments = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                capture.sizes.append(len(body))
                try:
                    simple = json.loads(body)["Content"]["Simple"]
                    capture.attachments += [(a["FileName"], len(a["RawContent"]) * 3 // 4)
                                            for a in simple.get("Attachments", [])]
                except (ValueError, KeyError, TypeError):
                    pass
                answer = json.dumps({"MessageId": f"bench-{len(capture.sizes)}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# The organisation part: GuardDuty's largest organisations, Security Hub's member quota per
# administrator and region, and the memory the template gives the function.
ORGANISATION_ACCOUNTS = 50_000
SECURITY_HUB_MEMBER_QUOTA = 10_000
ORGANISATION_RSS_TARGET_MIB = 160
EMAIL_TARGET_BYTES = 1_000_000


def part_organisation(ctx, table):
    """A sweep of an organisation of 50,000 accounts in 17 regions with both services, this
    account both services' delegated administrator, Security Hub refusing past its quota; the
    stand-in serves Organizations (moto cannot hold such an organisation in reasonable time:
    seeding 10,000 accounts takes it 6 minutes, and each ListAccounts page re-sorts them all) and
    answers every call after 100 ms."""
    count, quota, latency = (500, 200, "20") if ctx.smoke else (
        ORGANISATION_ACCOUNTS, SECURITY_HUB_MEMBER_QUOTA, ACCEPT_LATENCY_MS)
    regions = REGIONS_17
    label = f"organisation {n(count)} × {len(regions)} × 2, delegated administrator, {latency} ms a call"
    log(f"{label}: Organizations from the stand-in, Security Hub quota {n(quota)} per region")
    extra = ["--latency-ms", latency, "--organization-accounts", str(count), "--delegated-administrator",
             "--security-hub-member-limit", str(quota)]
    for region in regions:
        extra += ["--security-hub", region]
    ses = SesCapture()
    standin_proc, standin = start_standin(ctx.procs, ctx.standin, "standin-organisation", regions, extra)
    try:
        env = {**scale_env(standin, ses.url, regions), "AWS_ENDPOINT_URL_ORGANIZATIONS": standin,
               "ENABLE_SECURITY_HUB": "true", "REPORT_WHEN": "always"}
        # The first sweep finds no member; the second, the next day's, lists them all first.
        walls = []
        _, peak, responses = run_function(ctx.procs, ctx.api, ctx.function, "function-organisation", env,
                                          [{"sweep": True}, {"sweep": True}], ctx.timeout + 120, walls)
        state = standin_state(standin)
    finally:
        ctx.procs.stop(standin_proc)
        ses.close()
    counts = responses[0]["counts"]
    calls = state["calls"]
    for (which, wall), response in zip((("first sweep", walls[0]), ("second sweep", walls[1])), responses):
        c = response["counts"]
        table.add(f"{label}: {which}, wall, event out → response", secs(wall),
                  f"one invocation: template Timeout {ctx.timeout} s; "
                  f"{n(c['enabled_by_organization'])} enabled through the organisation, "
                  f"{n(c['already_member'])} already members, {n(c['unprocessed'])} unprocessed",
                  f"{wall / ctx.timeout:.2g}×", "≤ 1×", check(wall <= ctx.timeout))
    table.add(f"{label}: peak RSS over both sweeps ({n(len(calls))} calls)", mib(peak),
              f"{ORGANISATION_RSS_TARGET_MIB} MiB",
              f"{peak / 1024 / ORGANISATION_RSS_TARGET_MIB:.3f}×", f"≤ {ORGANISATION_RSS_TARGET_MIB} MiB",
              check(peak <= ORGANISATION_RSS_TARGET_MIB * 1024))
    enabled = counts["enabled_by_organization"]
    want_enabled = count * len(regions) + min(count, quota) * len(regions)
    table.add(f"{label}: first sweep's outcomes",
              f"{n(enabled)} enabled through the organisation, {n(counts['unprocessed'])} unprocessed, "
              f"{n(counts['invited'])} invited",
              f"GuardDuty {n(count)} × {len(regions)} + Security Hub {n(min(count, quota))} × {len(regions)} "
              f"(its quota) = {n(want_enabled)}", times(enabled / want_enabled) if want_enabled else "–")
    size = max(ses.sizes, default=0)
    attached = ", ".join(f"{name} {n(b)} bytes" for name, b in ses.attachments) or "no attachment"
    table.add(f"{label}: the larger report as SES receives it ({len(ses.sizes)} sent)", f"{n(size)} bytes ({attached})",
              f"{n(EMAIL_TARGET_BYTES)} bytes", f"{size / EMAIL_TARGET_BYTES:.2f}×", "< 1 MB",
              check(0 < size < EMAIL_TARGET_BYTES and len(ses.sizes) == 2))
    # The stand-in's accounts are numbered one after another and named alike, which compresses
    # far better than a real organisation's scattered ids and names: the unit test
    # fifty_thousand_accounts_… (src/report/tests.rs) measures those.
    table.notes.append(f"{label}: the stand-in's account ids are sequential and its names alike, which "
                       "compress far better than a real organisation's; with scattered ids and distinct names "
                       "(src/report/tests.rs, fifty_thousand_accounts_in_seventeen_regions_and_two_services_fit_one_email) "
                       "the email is about 1.6 MB")
    if not all(r["report"].get("sent") for r in responses):
        table.notes.append(f"{label}: a report was not sent")


def aarch64(path):
    with open(path, "rb") as f:
        header = f.read(20)
    return header[:4] == b"\x7fELF" and len(header) == 20 and int.from_bytes(header[18:20], "little") == 0xB7


def part_size(ctx, table):
    # Always cargo-lambda's own build with the release profile as Cargo.toml has it: CI's sam build
    # leaves the profile's size optimisations out (scripts/test), so its artefact is not measured.
    built = ROOT / "target" / "lambda" / "onboarder" / "bootstrap"
    sources = [p for p in (ROOT / "src").rglob("*") if p.is_file()] + [ROOT / "Cargo.lock", ROOT / "Cargo.toml"]
    newest = max(p.stat().st_mtime for p in sources)
    if ctx.smoke and built.exists():
        artefact = built
        how = "an existing artefact" + ("" if built.stat().st_mtime > newest else ", older than the sources")
    else:
        log("size: cargo lambda build --release --arm64 --locked")
        build_started = time.time()
        env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
        build = subprocess.run(["cargo", "lambda", "build", "--release", "--arm64", "--locked"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if build.returncode != 0:
            raise HarnessError("cargo lambda build failed:\n" + "\n".join(build.stdout.splitlines()[-30:]))
        artefact, how = built, "cargo lambda build --release --arm64, this run"
        changed = [p for p in sources if p.exists() and p.stat().st_mtime > build_started]
        if changed:
            table.notes.append(f"size: {len(changed)} source files changed during the build (such as "
                               f"{changed[0].relative_to(ROOT)}): the size may be of the earlier sources")
    if not aarch64(artefact):
        raise HarnessError(f"{artefact.relative_to(ROOT)} is not an aarch64 executable")
    size = artefact.stat().st_size / MIB
    table.add(f"arm64 bootstrap size ({artefact.relative_to(ROOT)}: {how})", f"{size:.2f} MiB",
              f"{SIZE_TARGET_MIB} MiB", f"{size / SIZE_TARGET_MIB:.3f}×", f"≤ {SIZE_TARGET_MIB} MiB",
              check(size <= SIZE_TARGET_MIB))


# ----- main -----

BUILD_TOOLS = {"cargo", "rustc", "cargo-lambda", "cc", "cc1", "ld", "zig"}


class BusyWatch:
    """Notes build tools (cargo, rustc...) that run on the machine while a part measures: other
    people's builds take CPU from the processes measured."""

    def __init__(self):
        self.part = None
        self.seen = collections.defaultdict(set)
        threading.Thread(target=self.watch, daemon=True).start()

    def watch(self):
        while True:
            part = self.part
            if part:
                for comm in Path("/proc").glob("[0-9]*/comm"):
                    try:
                        name = comm.read_text().strip()
                    except OSError:
                        continue
                    if name in BUILD_TOOLS:
                        self.seen[part].add(name)
            time.sleep(0.5)


def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = subprocess.run(["nproc"], stdout=subprocess.PIPE, text=True).stdout.strip()
    except OSError:
        cores = str(os.cpu_count())
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"Machine: {model}, {cores} cores (nproc); Linux {platform.release()}; "
            f"load average at the start {load} (1/5/15 min); Python {platform.python_version()}.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", metavar="PART", help=", ".join(PARTS))
    parser.add_argument("--smoke", action="store_true", help="the short run for CI")
    parser.add_argument("--function", type=Path, help="the function's release binary (x86_64)")
    parser.add_argument("--standin", type=Path, default=ROOT / "target" / "release" / "standin")
    parser.add_argument("--function-label", default=None, help="how the table names the function's binary")
    parser.add_argument("--floor", type=Path, default=None,
                        help="the minimal lambda_runtime function (floor/), built as the function is: "
                             "by default `floor` beside the function's binary")
    parser.add_argument("--out", type=Path, default=ROOT / "target" / "bench.md")
    args = parser.parse_args()
    for part in args.parts:
        if part not in PARTS:
            parser.error(f"unknown part {part!r}: choose from {', '.join(PARTS)}")
    parts = [p for p in PARTS if p in args.parts] if args.parts else PARTS
    if any(p != "size" for p in parts) and not (args.function and args.function.is_file()):
        parser.error("--function must name the function's binary")

    logs = ROOT / "target" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("*.log"):
        old.unlink()
    ctx = argparse.Namespace(
        smoke=args.smoke, function=args.function and args.function.resolve(), standin=args.standin.resolve(),
        floor=(args.floor or (args.function and args.function.resolve().parent / "floor")),
        member_concurrency=source_constant("src/limits.rs", "MEMBER_CONCURRENCY"),
        procs=Processes(logs), api=None, moto=None,
        concurrency=source_constant("src/limits.rs", "BATCH_CONCURRENCY"),
        max_batch=source_constant("src/service/mod.rs", "MAX_BATCH"),
        max_accounts=source_constant("src/event/mod.rs", "MAX_ACCOUNTS"),
        timeout=template_timeout(),
    )
    ctx.moto = Moto(ctx.procs)
    header = machine()
    table = Table()
    started = time.monotonic()

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    ctx.api = RuntimeApi()
    busy = BusyWatch()
    try:
        for part in parts:
            part_started = time.monotonic()
            # The size part's own build would count; the others start no build.
            busy.part = part if part != "size" else None
            try:
                globals()[f"part_{part}"](ctx, table)
            except HarnessError as e:
                table.failures.append(f"{part}: {e}")
                log(f"{part} FAILED: {e}")
            log(f"{part}: {time.monotonic() - part_started:.0f} s")
    except KeyboardInterrupt:
        table.failures.append("interrupted")
    finally:
        busy.part = None
        ctx.procs.stop_all()
        ctx.api.close()
    for part, tools in busy.seen.items():
        table.notes.append(f"{part}: other builds ran on the machine while it measured ({', '.join(sorted(tools))}): "
                           "its timings are noisy; run it again on a quiet machine")

    lines = []
    if args.smoke:
        lines.append("Smoke run (scripts/bench --smoke): fewer spawns and smaller scenarios than the full run; "
                     "its figures are not the targets' measurements.\n")
    lines.append(table.markdown())
    lines.append("")
    for note in table.notes:
        lines.append(f"- Note: {note}")
    for failure in table.failures:
        lines.append(f"- HARNESS FAILURE: {failure}")
    if table.notes or table.failures:
        lines.append("")
    function = args.function_label or (args.function.name if args.function else "not run")
    lines.append(f"Function binary: {function}; stand-in latency {LATENCY_MS} ms a call; "
                 f"BATCH_CONCURRENCY {ctx.concurrency}, MAX_ACCOUNTS {n(ctx.max_accounts)} (read from src/); "
                 f"parts: {', '.join(parts)}; {time.monotonic() - started:.0f} s.")
    lines.append(header)
    text = "\n".join(lines) + "\n"
    print(text, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 1 if table.failures else 0


if __name__ == "__main__":
    sys.exit(main())
