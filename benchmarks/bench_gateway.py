"""The gateway's added latency at a fixed request rate, against a plain pass-through proxy.

Separate processes, so that no two pieces share an event loop or a core's time slice:

- a stub upstream: a raw HTTP/1.1 server on uvloop (an ``asyncio.Protocol``, no framework)
  answering every POST with the same OpenAI-shaped ~1 KB chat completion;
- a plain pass-through proxy built with the same server and client stack as the gateway
  (uvicorn with uvloop and httptools, a lean ASGI handler, the gateway's own pooled
  ``aiohttp`` session from ``open_upstream``); no scoring, no policy, no logging;
- the gateway (``create_app``: attribution, scoring, policy, decision log, metrics), served
  exactly like the pass-through;
- this process: an open-loop load generator on uvloop speaking HTTP/1.1 over raw keep-alive
  sockets. Request *i* is sent at ``t0 + i / rate`` whether or not earlier ones have
  returned, and its latency runs from that scheduled time to the response's last byte (so a
  stalled server is not hidden by a waiting client). Client connections are capped
  (``--connections``, like wrk2); a request waiting for one counts the wait.

The gateway scores with the real online scorer (``distillwatch.online.scorer.open_scorer``,
fresh state in a temporary directory) when it exists, else with a constant scorer; the
output says which. With the real scorer a second gateway with a constant scorer shows the
scorer's share. Its policy is the packaged ``policy.toml`` in ``enforce`` mode with the
decision log in the temporary directory. Requests rotate over ``--accounts`` API keys and
distinct prompts. The targets take turns (``--rounds``, so that load from other work on the
machine hits them alike), each turn on fresh connections with a warm-up that is not counted
(``--warmup`` the first time, 1 s after), while the other proxies are stopped (SIGSTOP), so
that background work of one (a scorer's learning thread) is not charged to another.

Prints p50/p90/p99/max, the CPU time per request of the proxy, the upstream and the load
generator, the CPU other processes used meanwhile, and "added p99 = gateway p99 -
pass-through p99"; asserts nothing. ``lag p99`` is how late the generator itself sent
(timer granularity, its own CPU): it is inside every latency, direct upstream included.

    .venv/bin/python benchmarks/bench_gateway.py                  # 500 req/s, 20 s per target
    .venv/bin/python benchmarks/bench_gateway.py --rate 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import importlib.metadata
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
from typing import Any, cast

import orjson

HERE = Path(__file__).resolve()
ANSWER = (
    "The derivative of x^3 is 3x^2. To see this, apply the power rule: bring the exponent "
    "down as a coefficient and reduce the exponent by one. "
) * 5
CHAT_PATH = "/v1/chat/completions"


def _new_loop() -> asyncio.AbstractEventLoop:
    import uvloop

    return uvloop.new_event_loop()


def _stack() -> str:
    names = ("uvicorn", "uvloop", "httptools", "aiohttp")
    return ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names)


# -- the servers (each in its own process) ----------------------------------------------------


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)  # connections wait in the backlog until the server accepts them
    return sock


def _run(app: Any, sock: socket.socket) -> None:
    """Serve *app* like ``gateway serve`` does (uvicorn; uvloop and httptools, which its
    ``auto`` settings pick when installed, are asked for by name here so that a missing one
    fails instead of silently measuring the slow pure-Python stack)."""
    import uvicorn

    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        backlog=2048,
    )
    print(f"PORT {sock.getsockname()[1]} {_stack()}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


def _completion() -> bytes:
    return orjson.dumps(
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


class StubProtocol(asyncio.Protocol):
    """One upstream connection: HTTP/1.1 keep-alive, requests with Content-Length, every
    request answered with the same prebuilt response (pipelined requests in order)."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            length = _content_length(self.buf, end)
            if length is None:  # no Content-Length (chunked bodies are not used here)
                assert self.transport is not None
                self.transport.write(b"HTTP/1.1 411 Length Required\r\ncontent-length: 0\r\n\r\n")
                self.transport.close()
                return
            need = end + 4 + length
            if len(self.buf) < need:
                return
            del self.buf[:need]
            assert self.transport is not None
            self.transport.write(self.answer)


def _content_length(buf: bytearray, end: int) -> int | None:
    i = buf.find(b"\r\n", 0, end)
    while 0 <= i < end:
        j = buf.find(b"\r\n", i + 2, end + 2)
        line = bytes(buf[i + 2 : j])
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
        i = j
    return None


def serve_stub(sock: socket.socket) -> None:
    body = _completion()
    answer = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n" % len(body) + body
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: StubProtocol(answer), sock=sock, backlog=2048)
        print(f"PORT {sock.getsockname()[1]} raw uvloop protocol", flush=True)
        await server.serve_forever()

    with asyncio.Runner(loop_factory=_new_loop) as runner:
        runner.run(main())


def passthrough_app(upstream: str) -> Any:
    """A plain reverse proxy: the gateway's server, client and header handling, nothing else."""
    from yarl import URL

    from distillwatch.gateway.app import GIL_SWITCH_S, open_upstream, read_body
    from distillwatch.gateway.settings import UpstreamLimits

    drop = {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
    }
    drop_back = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length"}
    drop_back |= {b"date", b"server", b"content-encoding"}
    state: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    sys.setswitchinterval(GIL_SWITCH_S)  # as the gateway does (one thread here)
                    state["client"] = open_upstream(UpstreamLimits())
                    state["url"] = URL(upstream + CHAT_PATH)
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await state["client"].close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        raw = await read_body(receive)
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1") not in drop
        ]
        headers.append(("accept-encoding", "identity"))
        resp = await state["client"].request(
            "POST", state["url"], data=raw, headers=headers, allow_redirects=False
        )
        content = await resp.read()
        back = [(k, v) for k, v in resp.raw_headers if k.lower() not in drop_back]
        back.append((b"content-length", b"%d" % len(content)))
        await send({"type": "http.response.start", "status": resp.status, "headers": back})
        await send({"type": "http.response.body", "body": content})

    return app


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
        serve_stub(sock)
        return
    app = passthrough_app(upstream) if role == "passthrough" else gateway_app(upstream, workdir)
    _run(app, sock)


@dataclass
class Server:
    role: str
    proc: subprocess.Popen[str]
    url: str
    stack: str

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
    _, port, stack = line.rstrip("\n").split(" ", 2)
    return Server(role, proc, f"http://127.0.0.1:{int(port)}", stack)


def cpu_ticks() -> tuple[int, int]:
    """Busy and total jiffies of the whole machine (first line of /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values[:8]) - idle, sum(values[:8])


def busy_cpus(seconds: float = 2.0) -> float:
    """CPUs busy with other work right now, before the run."""
    b0, t0 = cpu_ticks()
    time.sleep(seconds)
    b1, t1 = cpu_ticks()
    return (b1 - b0) / max(1, t1 - t0) * (os.cpu_count() or 1)


# -- the load generator ------------------------------------------------------------------------


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    connections: int = 0


class ClientConn(asyncio.Protocol):
    """One client keep-alive connection: at most one request in flight."""

    def __init__(self, gen: LoadGen) -> None:
        self.gen = gen
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.need = -1  # bytes of the current response, once its head is in
        self.scheduled: float | None = None  # of the request in flight

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, i: int, scheduled: float) -> None:
        assert self.transport is not None
        self.scheduled = scheduled
        self.gen.sent(scheduled)
        self.transport.write(self.gen.requests[i % len(self.gen.requests)])

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.need < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            length = _content_length(self.buf, end)
            if length is None:  # every answer here has a Content-Length
                assert self.transport is not None
                self.transport.close()
                return
            self.need = end + 4 + length
        if len(self.buf) < self.need:
            return
        status = int(self.buf[9:12])
        del self.buf[: self.need]
        self.need = -1
        scheduled, self.scheduled = self.scheduled, None
        assert scheduled is not None
        self.gen.done(self, status, scheduled)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gen.lost(self)


class LoadGen:
    """At most *limit* keep-alive connections to one server (like wrk2's fixed connections):
    a request takes an idle one, opens one while under the limit, or waits in line."""

    def __init__(
        self, host: str, port: int, limit: int, requests: list[bytes], n: int, warm_until: float
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.host, self.port, self.limit = host, port, limit
        self.requests = requests
        self.n = n
        self.warm_until = warm_until
        self.idle: list[ClientConn] = []
        self.waiting: collections.deque[tuple[int, float]] = collections.deque()
        self.opened = 0
        self.finished = 0
        self.result = Result()
        self.all_done: asyncio.Future[None] = self.loop.create_future()

    def submit(self, i: int, scheduled: float) -> None:
        if self.idle:
            self.idle.pop().send(i, scheduled)
        elif self.opened < self.limit:
            self.opened += 1
            self.result.connections += 1
            self.loop.create_task(self._open(i, scheduled))
        else:
            self.waiting.append((i, scheduled))

    async def _open(self, i: int, scheduled: float) -> None:
        try:
            _, conn = await self.loop.create_connection(
                lambda: ClientConn(self), self.host, self.port
            )
        except OSError:
            self.opened -= 1
            self._count(None, scheduled)
            return
        conn.send(i, scheduled)

    def sent(self, scheduled: float) -> None:
        if scheduled >= self.warm_until:
            self.result.lags_ms.append((time.perf_counter() - scheduled) * 1000.0)

    def _count(self, status: int | None, scheduled: float) -> None:
        res = self.result
        if status is None:
            res.errors += 1
        else:
            res.statuses[status] = res.statuses.get(status, 0) + 1
            if scheduled >= self.warm_until:
                res.latencies_ms.append((time.perf_counter() - scheduled) * 1000.0)
        self.finished += 1
        if self.finished >= self.n and not self.all_done.done():
            self.all_done.set_result(None)

    def done(self, conn: ClientConn, status: int, scheduled: float) -> None:
        self._count(status, scheduled)
        if self.waiting:
            conn.send(*self.waiting.popleft())
        else:
            self.idle.append(conn)

    def lost(self, conn: ClientConn) -> None:
        self.opened -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        if conn.scheduled is not None:
            self._count(None, conn.scheduled)
        if self.waiting and self.opened < self.limit:
            self.opened += 1
            self.result.connections += 1
            self.loop.create_task(self._open(*self.waiting.popleft()))

    def close(self) -> None:
        for conn in self.idle:
            if conn.transport is not None:
                conn.transport.close()


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
            f"POST {CHAT_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer sk-bench-{i % accounts:05d}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


async def load(
    url: str, rate: float, seconds: float, warmup: float, accounts: int, connections: int
) -> Result:
    host, port = url.removeprefix("http://").split(":")
    n = int(rate * (seconds + warmup))
    requests = make_requests(int(port), min(n, 20_000), accounts)
    # perf_counter, not loop.time(): uvloop's clock has millisecond steps
    t0 = time.perf_counter() + 0.1
    gen = LoadGen(host, int(port), connections, requests, n, t0 + warmup)
    for i in range(n):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        gen.submit(i, scheduled)
    try:
        await asyncio.wait_for(gen.all_done, timeout=60.0)
    except TimeoutError:
        gen.result.errors += gen.n - gen.finished
    gen.close()
    return gen.result


def run_load(*args: Any) -> tuple[Result, float]:
    """:func:`load` on a fresh uvloop; also the generator's CPU seconds."""
    cpu = time.process_time()
    with asyncio.Runner(loop_factory=_new_loop) as runner:
        res = runner.run(load(*args))
    return res, time.process_time() - cpu


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100.0 * len(ordered)))]


@dataclass
class Totals:
    result: Result = field(default_factory=Result)
    proxy_cpu: float = 0.0
    upstream_cpu: float = 0.0
    loadgen_cpu: float = 0.0
    other_cpu: float = 0.0  # CPU seconds used by everything else on the machine meanwhile
    wall: float = 0.0


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
        print(f"stub upstream: {up.stack}; proxies: {targets[1][1].stack}; load: raw uvloop")
        try:
            print(
                f"{'target':<26} {'n':>6} {'err':>4} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} "
                f"{'max ms':>7} {'lag p99':>7}  CPU ms/request: proxy, upstream, load; others"
            )
            totals = {name: Totals() for name, _ in targets}
            for rnd in range(args.rounds):
                for name, server in targets:
                    # the other proxies are frozen meanwhile, so that work they still do
                    # (a scorer's learning thread) is counted in their own turns, not in this one
                    for other in servers:
                        if other is not server and other is not up:
                            other.proc.send_signal(signal.SIGSTOP)
                    before = (server.cpu_seconds(), up.cpu_seconds(), cpu_ticks(), time.time())
                    res, gen_cpu = run_load(
                        server.url,
                        args.rate,
                        args.seconds / args.rounds,
                        args.warmup if rnd == 0 else 1.0,
                        args.accounts,
                        args.connections,
                    )
                    after = (server.cpu_seconds(), up.cpu_seconds(), cpu_ticks(), time.time())
                    for other in servers:
                        other.proc.send_signal(signal.SIGCONT)
                    t = totals[name]
                    proxy = 0.0 if server is up else after[0] - before[0]
                    t.proxy_cpu += proxy
                    t.upstream_cpu += after[1] - before[1]
                    t.loadgen_cpu += gen_cpu
                    machine = (after[2][0] - before[2][0]) / os.sysconf("SC_CLK_TCK")
                    t.other_cpu += machine - proxy - (after[1] - before[1]) - gen_cpu
                    t.wall += after[3] - before[3]
                    total = t.result
                    total.latencies_ms += res.latencies_ms
                    total.lags_ms += res.lags_ms
                    total.errors += res.errors
                    for st, c in res.statuses.items():
                        total.statuses[st] = total.statuses.get(st, 0) + c
                    time.sleep(0.5)
            p99: dict[str, float] = {}
            for name, server in targets:
                t = totals[name]
                res = t.result
                sent = sum(res.statuses.values()) + res.errors
                lat = res.latencies_ms
                bad = res.errors + sum(c for st, c in res.statuses.items() if st != 200)
                p99[name] = pct(lat, 99)
                proxy_cpu = "-" if server is up else f"{t.proxy_cpu / sent * 1000:.2f}"
                print(
                    f"{name:<26} {len(lat):>6} {bad:>4} {statistics.median(lat):>7.2f} "
                    f"{pct(lat, 90):>7.2f} {p99[name]:>7.2f} {max(lat):>7.2f} "
                    f"{pct(res.lags_ms, 99):>7.2f}  {proxy_cpu}, "
                    f"{t.upstream_cpu / sent * 1000:.2f}, {t.loadgen_cpu / sent * 1000:.2f}; "
                    f"{max(0.0, t.other_cpu) / t.wall:.2f} CPUs"
                )
            for name in [n for n, _ in targets if n.startswith("gateway")]:
                added = p99[name] - p99["pass-through proxy"]
                print(
                    f"added p99 ({name}) = {p99[name]:.2f} - {p99['pass-through proxy']:.2f} "
                    f"= {added:.2f} ms (target <= 5 ms)"
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
