"""The gateway's added latency at a fixed request rate, against a plain pass-through proxy.

Separate processes, so that no two pieces share an event loop: a stub upstream (OpenAI-shaped
~1 KB JSON chat completions), a plain pass-through proxy built with the same server and
client as the gateway (Starlette on uvicorn, one pooled ``httpx.AsyncClient``; no scoring,
no policy, no logging), the gateway (``create_app``: scoring, policy, decision log,
metrics), and this process, which generates open-loop load: request *i* is sent at
``t0 + i / rate`` whether or not earlier ones have returned, and its latency is measured
from that scheduled time (so a stalled server is not hidden by a waiting client). The load
generator speaks HTTP/1.1 over keep-alive sockets itself (cheaper than an HTTP library, so
it takes less CPU from the servers on a small machine).

The gateway scores with the real online scorer (``distillwatch.online.scorer.open_scorer``,
fresh state in a temporary directory) when it exists, else with a constant scorer; the
output says which. Its policy is the packaged ``policy.toml`` in ``enforce`` mode with the
decision log in the temporary directory. Requests rotate over ``--accounts`` API keys and
distinct prompts. The targets take turns (``--rounds``, so that load from other work on the
machine hits them alike), each turn on fresh connections with a warm-up that is not counted
(``--warmup`` the first time, 1 s after), while the other proxies are stopped (SIGSTOP), so
that background work of one (a scorer's flush thread) is not charged to another. With the
real scorer a second gateway with a constant scorer shows the scorer's share. Prints
p50/p90/p99, the CPU time per request of each server process, and "added p99 = gateway
p99 - pass-through p99"; asserts nothing.
Client connections are capped (``--connections``, like wrk2); a request waiting for one
counts the wait.

    .venv/bin/python benchmarks/bench_gateway.py                  # 500 req/s, 20 s per target
    .venv/bin/python benchmarks/bench_gateway.py --rate 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve()
ANSWER = (
    "The derivative of x^3 is 3x^2. To see this, apply the power rule: bring the exponent "
    "down as a coefficient and reduce the exponent by one. "
) * 5


# -- the servers (each in its own process) ----------------------------------------------------


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _run(app: Any, sock: socket.socket) -> None:
    import uvicorn

    config = uvicorn.Config(
        app, log_level="warning", access_log=False, proxy_headers=False, backlog=2048
    )
    sock.listen(2048)  # connections wait in the backlog until uvicorn accepts them
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


def upstream_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1767225600,
            "model": "teacher-1",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 40, "completion_tokens": 180, "total_tokens": 220},
        }
    )

    async def chat(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def passthrough_app(upstream: str) -> Any:
    """A plain reverse proxy: same server, same client, nothing else."""
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    hop = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host"}
    state: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state["client"] = httpx.AsyncClient(
            timeout=httpx.Timeout(300.0, connect=5.0),
            limits=httpx.Limits(max_connections=500, max_keepalive_connections=100),
            trust_env=False,
        )
        yield
        await state["client"].aclose()

    async def proxy(request: Request) -> Response:
        raw = await request.body()
        headers = [
            (k, v) for k, v in request.headers.items() if k not in hop and k != "content-length"
        ]
        resp = await state["client"].post(upstream + request.url.path, content=raw, headers=headers)
        response = Response(resp.content, resp.status_code)
        response.raw_headers += [
            (k.encode(), v.encode())
            for k, v in resp.headers.multi_items()
            if k.lower() not in hop | {"content-length", "date", "server", "content-encoding"}
        ]
        return response

    return Starlette(
        routes=[Route("/v1/chat/completions", proxy, methods=["POST"])], lifespan=lifespan
    )


class ConstantScorer:
    """Used when the real online scorer is not available: every account risk 0.05."""

    def score_one(self, event: Any) -> Any:
        from distillwatch.online.api import Verdict

        return Verdict(event["account_id"], 0.05, False)

    def learn_one(self, event: Any) -> None:
        pass

    def reload(self) -> None:
        pass

    def checkpoint(self) -> None:
        pass


def real_scorer_available() -> bool:
    if importlib.util.find_spec("distillwatch.online.scorer") is None:
        return False
    from distillwatch.online import scorer

    return hasattr(scorer, "open_scorer")


def gateway_app(upstream: str, workdir: Path) -> Any:
    import tomllib
    from importlib import resources

    from distillwatch.gateway.app import create_app
    from distillwatch.gateway.settings import GatewaySettings, parse_policy

    text = resources.files("distillwatch.config").joinpath("policy.toml").read_text("utf-8")
    data = tomllib.loads(text)
    data.update(mode="enforce", decision_log=str(workdir / "decisions.jsonl"))
    policy = parse_policy(data)
    scorer: Any
    if real_scorer_available() and os.environ.get("BENCH_SCORER", "auto") != "constant":
        from distillwatch.online.scorer import open_scorer

        scorer = open_scorer(workdir / "state.db", lists=None, checkpoint_s=policy.checkpoint_s)
    else:
        scorer = ConstantScorer()
    return create_app(GatewaySettings(upstream=upstream, policy=policy), scorer)


def serve_role(role: str, upstream: str, workdir: Path) -> None:
    sock = _listen()
    if role == "upstream":
        app = upstream_app()
    elif role == "passthrough":
        app = passthrough_app(upstream)
    else:
        app = gateway_app(upstream, workdir)
    _run(app, sock)


@dataclass
class Server:
    role: str
    proc: subprocess.Popen[str]
    url: str

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(role: str, upstream: str, workdir: Path, scorer: str = "auto") -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HERE), "--serve", role, "--upstream", upstream]
    proc = subprocess.Popen(
        [*cmd, "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "BENCH_SCORER": scorer},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise SystemExit(f"{role} did not start")
    return Server(role, proc, f"http://127.0.0.1:{int(line.split()[1])}")


def busy_cpus(seconds: float = 2.0) -> float:
    """CPUs busy with other work right now (from /proc/stat), before the run."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = values[3] + values[4]
        return sum(values[:8]) - idle, sum(values[:8])

    b0, t0 = sample()
    time.sleep(seconds)
    b1, t1 = sample()
    return (b1 - b0) / max(1, t1 - t0) * (os.cpu_count() or 1)


# -- the load generator ------------------------------------------------------------------------


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    connections: int = 0


class Pool:
    """At most *limit* keep-alive HTTP/1.1 connections to one host (like wrk2's fixed
    connections): a request takes an idle one, opens one while under the limit, or waits.
    The wait counts in its latency (measured from the scheduled send time)."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host = host
        self.port = port
        self.limit = limit
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.opened = 0

    async def request(self, raw: bytes) -> int:
        if not self.idle.empty() or self.opened >= self.limit:
            reader, writer = await self.idle.get()
        else:
            self.opened += 1
            reader, writer = await asyncio.open_connection(self.host, self.port)
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
        except BaseException:
            writer.close()
            self.opened -= 1
            raise
        self.idle.put_nowait((reader, writer))
        return status

    def close(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait()[1].close()


def make_requests(port: int, n: int, accounts: int) -> list[bytes]:
    out = []
    for i in range(n):
        body = orjson.dumps(
            {
                "model": "teacher-1",
                "messages": [
                    {"role": "system", "content": "You are a careful math tutor."},
                    {
                        "role": "user",
                        "content": f"Question {i}: what is the derivative of x^{i % 50 + 2}? "
                        f"Show each step of your reasoning for exercise {i * 7919 % 100003}.",
                    },
                ],
                "temperature": 0.7,
                "max_tokens": 512,
            }
        )
        head = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer sk-bench-{i % accounts:05d}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


async def load(
    url: str, rate: float, seconds: float, warmup: float, accounts: int, connections: int
) -> Result:
    host, port = url.removeprefix("http://").split(":")
    pool = Pool(host, int(port), connections)
    n = int(rate * (seconds + warmup))
    requests = make_requests(int(port), min(n, 20_000), accounts)
    result = Result()
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.1

    async def one(i: int, scheduled: float) -> None:
        try:
            status = await pool.request(requests[i % len(requests)])
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            return
        done = loop.time()
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if scheduled - t0 >= warmup:
            result.latencies_ms.append((done - scheduled) * 1000.0)

    tasks = []
    for i in range(n):
        scheduled = t0 + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    pool.close()
    result.connections = pool.opened
    return result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100.0 * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=float, default=500.0, help="requests per second (open loop)")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds per target")
    ap.add_argument("--warmup", type=float, default=3.0, help="uncounted seconds per target")
    ap.add_argument("--accounts", type=int, default=1000, help="distinct API keys")
    ap.add_argument("--connections", type=int, default=32, help="client connections at most")
    ap.add_argument(
        "--rounds", type=int, default=4, help="targets take turns this many times (drifting load)"
    )
    ap.add_argument(
        "--serve", choices=["upstream", "passthrough", "gateway"], help=argparse.SUPPRESS
    )
    ap.add_argument("--upstream", default="", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve_role(args.serve, args.upstream, Path(args.workdir))
        return

    real = real_scorer_available()
    print(
        f"open-loop load: {args.rate:.0f} req/s for {args.seconds:.0f} s after {args.warmup:.0f} s "
        f"warm-up per target, <= {args.connections} connections, {args.accounts} accounts; "
        f"{os.cpu_count()} CPUs, {busy_cpus():.1f} of them busy with other work before the run"
    )
    print(
        "gateway scorer: "
        + (
            "real online scorer (distillwatch.online.scorer.open_scorer, fresh state)"
            if real
            else "constant scorer (distillwatch.online.scorer.open_scorer not available)"
        )
        + "; policy: packaged policy.toml in enforce mode, decision log on"
    )
    with tempfile.TemporaryDirectory(prefix="dw-bench-gw-") as tmp:
        work = Path(tmp)
        up = start("upstream", "", work / "up")
        targets = [
            ("direct upstream", up),
            ("pass-through proxy", start("passthrough", up.url, work / "pt")),
            ("gateway", start("gateway", up.url, work / "gw")),
        ]
        if real:
            targets.append(
                ("gateway, constant scorer", start("gateway", up.url, work / "gc", "constant"))
            )
        servers = [server for _, server in targets]
        try:
            print(
                f"{'target':<26} {'n':>6} {'err':>4} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
                f"{'max ms':>8}  CPU ms/request: proxy, upstream"
            )
            totals = {name: Result() for name, _ in targets}
            cpu = {name: [0.0, 0.0] for name, _ in targets}  # proxy, upstream CPU seconds
            for rnd in range(args.rounds):
                for name, server in targets:
                    # the other proxies are frozen meanwhile, so that work they still do
                    # (a scorer's flush thread) is counted in their own turns, not in this one
                    for other in servers:
                        if other is not server and other is not up:
                            other.proc.send_signal(signal.SIGSTOP)
                    before = (server.cpu_seconds(), up.cpu_seconds())
                    res = asyncio.run(
                        load(
                            server.url,
                            args.rate,
                            args.seconds / args.rounds,
                            args.warmup if rnd == 0 else 1.0,
                            args.accounts,
                            args.connections,
                        )
                    )
                    for other in servers:
                        other.proc.send_signal(signal.SIGCONT)
                    cpu[name][0] += server.cpu_seconds() - before[0]
                    cpu[name][1] += up.cpu_seconds() - before[1]
                    total = totals[name]
                    total.latencies_ms += res.latencies_ms
                    total.errors += res.errors
                    for st, c in res.statuses.items():
                        total.statuses[st] = total.statuses.get(st, 0) + c
                    time.sleep(0.5)
            p99: dict[str, float] = {}
            for name, server in targets:
                res = totals[name]
                sent = sum(res.statuses.values()) + res.errors
                lat = res.latencies_ms
                bad = res.errors + sum(c for st, c in res.statuses.items() if st != 200)
                p99[name] = pct(lat, 99)
                proxy_cpu = "-" if server is up else f"{cpu[name][0] / sent * 1000:.2f}"
                print(
                    f"{name:<26} {len(lat):>6} {bad:>4} {statistics.median(lat):>8.2f} "
                    f"{pct(lat, 90):>8.2f} {p99[name]:>8.2f} {max(lat):>8.2f}  {proxy_cpu}, "
                    f"{cpu[name][1] / sent * 1000:.2f}"
                )
            added = p99["gateway"] - p99["pass-through proxy"]
            print(
                f"added p99 = gateway p99 - pass-through p99 = {p99['gateway']:.2f} - "
                f"{p99['pass-through proxy']:.2f} = {added:.2f} ms (target <= 5 ms)"
            )
            lines = (work / "gw" / "decisions.jsonl").read_bytes().count(b"\n")
            print(f"gateway decision log: {lines} lines")
        finally:
            for s in servers:
                s.proc.send_signal(signal.SIGCONT)
                s.proc.terminate()
            for s in servers:
                s.proc.wait(timeout=30)


if __name__ == "__main__":
    main()
