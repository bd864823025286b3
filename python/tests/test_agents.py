"""batara.agents: alerts that resolve across restarts, every sink against a real consumer, the
config's checks, and the monitoring agent against a 4-validator network of ``batara start``
processes killed with SIGKILL."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from batara import Client
from batara.agents import (
    Alert,
    AlertBook,
    ConfigError,
    FileSink,
    MonitorAgent,
    MonitorConfig,
    NodeTarget,
    Problem,
    Severity,
    WebhookSink,
    load,
)
from batara.agents.cli import main as agents_main


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A sink that keeps what it is sent (the consumer side of the tests)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def send(self, event: str, alert: Alert) -> None:
        self.events.append((event, alert.key))


@pytest.fixture()
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            n = int(self.headers["Content-Length"])
            got.append(json.loads(self.rfile.read(n)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    server.shutdown()
    server.server_close()


def test_alerts_are_raised_repeated_and_resolved_once_across_restarts(
    tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, got = webhook
    clock = Clock()
    state = tmp_path / "state.json"
    lines = tmp_path / "alerts.jsonl"
    sinks = [WebhookSink(url), FileSink(lines)]
    book = AlertBook(state, list(sinks), repeat_seconds=60, clock=clock)
    stalled = Problem("stalled/n0", Severity.CRITICAL, "no block", {"height": 7})
    book.update("monitor", [stalled])
    clock.now += 30
    book.update("monitor", [stalled])  # still active, not yet repeated
    clock.now += 31
    book.update("monitor", [stalled])  # 61 s after the last send: repeated
    # Another check's run never resolves this check's alerts.
    book.update("security", [])
    assert [a.key for a in book.active()] == ["stalled/n0"]

    # The agent restarts while the alert is active: not raised again, resolved when gone.
    clock.now += 5
    book = AlertBook(state, list(sinks), repeat_seconds=60, clock=clock)
    assert [(a.key, a.first_seen) for a in book.active()] == [("stalled/n0", 1_000.0)]
    book.update("monitor", [stalled])
    book.update("monitor", [])
    book.update("monitor", [])
    book = AlertBook(state, list(sinks), repeat_seconds=60, clock=clock)
    book.update("monitor", [])
    assert book.active() == []

    events = [(e["event"], e["alert"]["key"]) for e in got]
    assert events == [
        ("raised", "stalled/n0"),
        ("repeated", "stalled/n0"),
        ("resolved", "stalled/n0"),
    ]
    assert got[-1]["alert"]["active"] is False and got[-1]["alert"]["resolved_at"] == 1_066.0
    assert got[0]["alert"]["severity"] == "critical" and got[0]["alert"]["details"] == {"height": 7}
    from_file = [json.loads(x) for x in lines.read_text().splitlines()]
    assert from_file == got

    # The same cause again later is a new alert.
    clock.now += 10
    book.update("monitor", [stalled])
    assert got[-1]["event"] == "raised" and got[-1]["alert"]["first_seen"] == 1_076.0


def test_a_damaged_state_file_and_a_dead_webhook_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    with pytest.raises(ValueError, match="damaged"):
        AlertBook(state, [])
    state.unlink()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    book = AlertBook(state, [WebhookSink(f"http://127.0.0.1:{port}/", timeout=2)])
    book.update("monitor", [Problem("x/y", Severity.WARNING, "w")])
    assert "webhook" in capsys.readouterr().err
    assert [a.key for a in book.active()] == ["x/y"], "kept, to be repeated"


def test_config_names_what_is_wrong(tmp_path: Path) -> None:
    cfg = tmp_path / "agents.toml"
    cfg.write_text('[[nodes]]\nurl = "http://127.0.0.1:1"\n[monitor]\nstall_secs = 3\n')
    with pytest.raises(ConfigError, match="unknown key 'stall_secs'"):
        load(cfg)
    cfg.write_text('[[nodes]]\nurl = "http://127.0.0.1:1"\n[[sinks]]\ntype = "pager"\n')
    with pytest.raises(ConfigError, match="stdout, file or webhook"):
        load(cfg)
    cfg.write_text("interval_seconds = 1\n")
    with pytest.raises(ConfigError, match="no \\[\\[nodes\\]\\]"):
        load(cfg)
    cfg.write_text(
        'state = "s.json"\n[[nodes]]\nname = "far"\nurl = "http://127.0.0.1:1"\n'
        '[[sinks]]\ntype = "file"\npath = "out.jsonl"\n'
    )
    c = load(cfg)
    assert c.state == tmp_path / "s.json" and c.nodes == [NodeTarget("far", "http://127.0.0.1:1")]
    # `batara-agents run --once`: a node that does not answer is an active alert (exit 1).
    with pytest.raises(SystemExit) as e:
        agents_main(["run", "--config", str(cfg), "--once"])
    assert e.value.code == 1
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(x["event"], x["alert"]["key"]) for x in out] == [("raised", "endpoint_down/far")]


def test_the_example_config_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    c = load(root / "examples" / "agents" / "agents.toml")
    assert [n.url for n in c.nodes] == [f"http://127.0.0.1:{8545 + i}" for i in range(4)]
    assert c.monitor.missed_blocks == 5 and len(c.sinks) == 1


def _free_base(n: int) -> int:
    """A port p such that p..p+n-1 are free on loopback now."""
    for base in range(21000 + (os.getpid() % 500) * 16, 60000, 16):
        try:
            socks = []
            for p in range(base, base + n):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                socks.append(s)
            for s in socks:
                s.close()
            return base
        except OSError:
            for s in socks:
                s.close()
    raise RuntimeError("no free ports")


class LocalNet:
    """`batara testnet` homes and their `batara start` processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rpc = _free_base(12)
        p2p = self.rpc + 8
        r = subprocess.run(
            [sys.executable, "-m", "batara", "testnet", "--validators", "4", "--out", str(root),
             "--block-time-ms", "200", "--rpc-port", str(self.rpc), "--p2p-port", str(p2p)],
            capture_output=True, text=True, timeout=60,
        )
        assert r.returncode == 0, r.stderr
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.addresses = [
            json.loads((root / f"node{i}" / "validator_key.json").read_text())["address"]
            for i in range(4)
        ]

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.rpc + i}"

    def start(self, i: int) -> None:
        log = open(self.root / f"node{i}.log", "ab")
        self.procs[i] = subprocess.Popen(
            [sys.executable, "-m", "batara", "start", "--home", str(self.root / f"node{i}")],
            stdout=log, stderr=log,
        )
        log.close()

    def kill(self, i: int) -> None:
        p = self.procs.pop(i)
        p.send_signal(signal.SIGKILL)
        p.wait()

    def stop_all(self) -> None:
        for i in list(self.procs):
            self.kill(i)


def _until(what: str, secs: float, f: Any) -> None:
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if f():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(400)
def test_monitor_alerts_on_a_killed_validator_and_a_stall_and_resolves(tmp_path: Path) -> None:
    net = LocalNet(tmp_path / "net")
    for i in range(4):
        net.start(i)
    try:
        c0 = Client(net.url(0), timeout=5)

        def height() -> int:
            try:
                return c0.height
            except Exception:
                return 0

        def healthy() -> bool:
            try:
                infos = [Client(net.url(i), timeout=5).info() for i in range(4)]
            except Exception:
                return False
            return all(int(i["height"]) >= 3 and not i["syncing"] and i["peers"] == 3 for i in infos)

        _until("four nodes at height 3, connected, not syncing", 90, healthy)
        rec = Recorder()
        book = AlertBook(tmp_path / "state.json", [rec], repeat_seconds=3600)
        # A round whose proposer is down waits out propose_ms (3 s in `batara testnet`'s config):
        # a stall is twice that with no block.
        cfg = MonitorConfig(stall_seconds=8, missed_blocks=3, min_peers=0)
        agent = MonitorAgent([NodeTarget(f"node{i}", net.url(i)) for i in range(4)], cfg, book)
        figures: dict[str, float] = {}

        def run_until(key: str, active: bool, secs: float) -> float:
            t0 = time.monotonic()
            while time.monotonic() - t0 < secs:
                agent.check()
                if any(a.key == key for a in book.active()) == active:
                    return time.monotonic() - t0
                time.sleep(0.3)
            raise AssertionError(f"{key} {'raised' if active else 'resolved'}: {book.active()}")

        # A healthy network for 20 blocks: nothing raised.
        h0 = height()
        while height() < h0 + 20:
            agent.check()
            time.sleep(0.3)
        assert rec.events == [], rec.events
        calls_before, blocks_before = agent.calls, height()

        # One validator killed: endpoint down at once, missed blocks within 3 + 2 blocks.
        v3 = net.addresses[3]
        killed_at = height()
        net.kill(3)
        figures["endpoint down"] = run_until("endpoint_down/node3", True, 30)
        figures["missed blocks"] = run_until(f"missed_blocks/{v3}", True, 60)
        assert height() - killed_at <= cfg.missed_blocks + 4, (killed_at, height(), rec.events)
        # Back: both resolve once it answers and signs again.
        net.start(3)
        t = run_until(f"missed_blocks/{v3}", False, 90)
        assert not any(a.key == "endpoint_down/node3" for a in book.active())
        figures["resolved after restart"] = t

        # Two of four killed: the others stall; resolved when one comes back.
        net.kill(2)
        net.kill(3)
        figures["stalled"] = run_until("stalled/node0", True, 30)
        net.start(2)
        figures["stall resolved"] = run_until("stalled/node0", False, 90)
        stall = [e for e in rec.events if e[1] == "stalled/node0"]
        assert stall == [("raised", "stalled/node0"), ("resolved", "stalled/node0")], rec.events
        missed = [e for e in rec.events if e[1] == f"missed_blocks/{v3}"]
        assert missed[:2] == [("raised", missed[0][1]), ("resolved", missed[0][1])]
        blocks = max(1, blocks_before - h0)
        print(
            "agents figures (s from fault):",
            {k: round(v, 1) for k, v in figures.items()},
            f"RPC calls per block while healthy: {calls_before / blocks:.1f}",
        )
    finally:
        net.stop_all()
