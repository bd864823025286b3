"""batara.agents: alerts that resolve across restarts, every sink against a real consumer, the
config's checks, and the monitoring agent against a 4-validator network of ``batara start``
processes killed with SIGKILL."""

from __future__ import annotations

import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from batara import Client, Keypair, Node, dev_account
from batara.agents import (
    Alert,
    AlertBook,
    BackupAgent,
    BackupSpec,
    ConfigError,
    FileSink,
    MonitorAgent,
    MonitorConfig,
    NodeTarget,
    Problem,
    ProcessSpec,
    SecurityAgent,
    SecurityConfig,
    Severity,
    Supervisor,
    VerifyError,
    WebhookSink,
    load,
    verify,
)
from batara.agents.cli import Agents
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
    cfg.write_text('[[nodes]]\nurl = "http://127.0.0.1:1"\n[security]\nhold_blocks = "ten"\n')
    with pytest.raises(ConfigError, match="security.hold_blocks must be int, not 'ten'"):
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
    assert c.security == SecurityConfig()


def _free_base(n: int) -> int:
    """A port p such that p..p+n-1 are free on loopback now."""
    for base in range(21000 + (os.getpid() % 500) * 16, 60000, 16):
        try:
            socks = []
            for p in range(base, base + n):
                socks.append(socket.socket())
                socks[-1].bind(("127.0.0.1", p))
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

    def clone_validator(self, i: int) -> int:
        """A second node (number 4) running validator ``i``'s key with a guard of its own, on
        free ports: the operator's classic mistake (a failover started while the primary
        still runs) that makes a validator sign twice. Returns its number."""
        src, dst = self.root / f"node{i}", self.root / "node4"
        dst.mkdir()
        for f in ("genesis.json", "validator_key.json"):
            shutil.copy2(src / f, dst / f)
        cfg = (src / "config.toml").read_text()
        cfg = cfg.replace(f'addr = "127.0.0.1:{self.rpc + i}"', f'addr = "127.0.0.1:{self.rpc + 4}"')
        cfg = cfg.replace(
            f'listen = "127.0.0.1:{self.rpc + 8 + i}"', f'listen = "127.0.0.1:{self.rpc + 5}"'
        )
        assert str(self.rpc + 4) in cfg and str(self.rpc + 5) in cfg, cfg
        (dst / "config.toml").write_text(cfg)  # node_key.json: created at start (a new peer)
        return 4

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
        # Blocks come every ~0.3-0.45 s; a drift alert past 1 s on average over 4 blocks.
        cfg = MonitorConfig(stall_seconds=8, missed_blocks=3, min_peers=0, downtime_missed=4,
                            expected_block_seconds=0.5, interval_tolerance=1.0, interval_blocks=4)
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
        # Its rounds as proposer wait out the propose timeout: the interval drifts.
        drift = f"block_interval/{c0.chain_id}"
        figures["interval drift"] = run_until(drift, True, 60)
        # Its misses in the downtime window (they count toward jailing, consecutive or not).
        figures["downtime"] = run_until(f"downtime/{v3}", True, 60)
        # Back: both resolve once it answers and signs again.
        net.start(3)
        t = run_until(f"missed_blocks/{v3}", False, 90)
        assert not any(a.key == "endpoint_down/node3" for a in book.active())
        figures["resolved after restart"] = t
        figures["drift resolved"] = run_until(drift, False, 60)

        # Two of four killed: the others stall; resolved when one comes back.
        net.kill(2)
        net.kill(3)
        figures["stalled"] = run_until("stalled/node0", True, 30)
        net.start(2)
        figures["stall resolved"] = run_until("stalled/node0", False, 90)
        # An operator unstaking: its funds unbonding are reported (info) while they are.
        v0 = net.addresses[0]
        r = subprocess.run(
            [sys.executable, "-m", "batara", "tx", "unstake", "--key",
             str(net.root / "node0" / "validator_key.json"), "--validator", v0, "--amount", "1",
             "--rpc", net.url(0), "--wait"],
            capture_output=True, text=True, timeout=60,
        )
        assert r.returncode == 0, r.stderr
        run_until(f"unbonding/{v0}", True, 30)
        assert book.alerts[f"unbonding/{v0}"].severity is Severity.INFO
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


@pytest.mark.timeout(300)
def test_a_validator_signing_twice_is_a_critical_alert_on_every_nodes_view(tmp_path: Path) -> None:
    net = LocalNet(tmp_path / "net")
    for i in range(4):
        net.start(i)
    try:
        _until("node0 at height 3", 90, lambda: _height(net.url(0)) >= 3)
        rec = Recorder()
        book = AlertBook(tmp_path / "state.json", [rec], repeat_seconds=3600)
        cfg = SecurityConfig(anomaly=False, audit=False)
        agent = SecurityAgent([NodeTarget(f"node{i}", net.url(i)) for i in range(4)], cfg, book)
        agent.check()
        assert rec.events == [], "a healthy history holds no evidence"
        figures = {}

        def caught(v: str) -> Alert:
            """Waits for v's double-sign alert on all four views; checks the evidence and the
            punishment behind it."""
            started = time.monotonic()
            _until("a double-sign alert", 120, _raised_prefix(agent.check, book, f"double_sign/{v}/"))
            figures[v] = round(time.monotonic() - started, 1)
            # Several heights may hold evidence (a twin signs until it is tombstoned): the first.
            alert = min(
                (a for a in book.active() if a.key.startswith(f"double_sign/{v}/")),
                key=lambda a: int(a.details["height"]),
            )
            assert alert.severity is Severity.CRITICAL and alert.details["validator"] == v

            def on_every_view() -> bool:
                agent.check()
                return bool(book.alerts[alert.key].details["nodes"] == [f"node{i}" for i in range(4)])

            _until("the evidence on all four views", 30, on_every_view)
            block = Client(net.url(0)).block(alert.details["block"])
            [ev] = [e for e in block["evidence"] if e["vote_a"]["validator"] == v]
            assert int(ev["vote_a"]["height"]) == alert.details["height"]
            assert ev["vote_a"]["block_hash"] != ev["vote_b"]["block_hash"]
            assert f"height {alert.details['height']}" in alert.summary
            _until("tombstoned", 30, lambda: Client(net.url(0)).validator(v).get("tombstoned"))
            return alert

        # The fault-injection control: validator 1's key signs two prevotes, sent to node 0.
        v1, v2 = net.addresses[1], net.addresses[2]
        out = subprocess.run(
            [sys.executable, "-m", "batara", "double-sign",
             "--key", str(net.root / "node1" / "validator_key.json"), "--rpc", net.url(0)],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        sent = json.loads(out.stdout)
        first = caught(v1)
        assert first.details["height"] == int(sent["height"])
        # The same evidence again is refused: already punished.
        again = subprocess.run(
            [sys.executable, "-m", "batara", "double-sign",
             "--key", str(net.root / "node1" / "validator_key.json"), "--rpc", net.url(0)],
            capture_output=True, text=True, timeout=60,
        )
        assert again.returncode == 1 and "evidence not usable" in again.stderr, again
        # The operator's mistake: a second process with validator 2's key and a guard of its own.
        net.start(net.clone_validator(2))
        caught(v2)
        # A restarted agent neither raises them again nor resolves them.
        restarted = SecurityAgent([NodeTarget(f"node{i}", net.url(i)) for i in range(4)], cfg, book)
        restarted.check()
        raised = [e for e in rec.events if e[0] == "raised"]
        assert sorted({k.split("/")[1] for _, k in raised}) == sorted([v1, v2])
        assert all(e[0] == "raised" for e in rec.events), rec.events
        print(f"agents figures: double sign to alert (s): control {figures[v1]}, twin {figures[v2]}")
    finally:
        net.stop_all()


def _raised_prefix(check: Any, book: AlertBook, prefix: str) -> Any:
    """A condition for :func:`_until`: one run of ``check``, then whether an alert whose key
    starts with ``prefix`` is active."""

    def f() -> bool:
        check()
        return any(a.key.startswith(prefix) for a in book.active())

    return f


def _height(url: str) -> int:
    try:
        return Client(url, timeout=5).height
    except Exception:
        return 0


def _normal_block(node: Node, rng: random.Random, keys: list[Keypair]) -> None:
    for _ in range(rng.randint(3, 10)):
        a, b = rng.sample(keys, 2)
        node.transfer(a, b.address, rng.randint(10**3, 10**6), wait=False)
    node.mine()


@pytest.mark.timeout(300)
def test_anomalous_activity_after_a_normal_history_is_explained_and_resolves(tmp_path: Path) -> None:
    rng = random.Random(7)
    with Node.dev(accounts=10, mode="manual", rpc_addr="127.0.0.1:0") as node:
        keys = node.accounts
        for _ in range(300):
            _normal_block(node, rng, keys)
        rec = Recorder()
        book = AlertBook(tmp_path / "state.json", [rec], repeat_seconds=3600)
        cfg = SecurityConfig(hold_blocks=5)
        url = node.rpc_url
        assert url is not None
        agent = SecurityAgent([NodeTarget("dev", url)], cfg, book)
        agent.check()
        assert agent.model is not None and agent.model.blocks == 295
        assert agent.training_seconds is not None
        trained_in = agent.training_seconds
        # A normal continuation raises nothing (the false-alert rate of this run: 0 of 100).
        for _ in range(100):
            _normal_block(node, rng, keys)
            agent.check()
        assert rec.events == [], rec.events

        # A flood of tiny transfers from 150 new accounts.
        fresh = [Keypair.generate() for _ in range(150)]
        for k in fresh:
            node.transfer(keys[0], k.address, 10**9, wait=False)
        node.mine()
        for k in fresh:
            node.transfer(k, keys[1].address, 1, wait=False)
        node.mine()
        agent.check()
        key = f"anomalous_activity/{node.chain_id}"
        assert [e for e in rec.events] == [("raised", key)], rec.events
        alert = book.alerts[key]
        flood = node.height
        assert alert.details["blocks"] == [flood - 1, flood]
        named = {f["feature"]: f for f in alert.details["features"]}
        assert {"tx_count", "new_senders"} <= set(named), alert.details
        assert named["new_senders"]["value"] == 150 and named["new_senders"]["spreads"] >= 3
        assert "new_senders 150" in alert.summary

        # A restarted agent (trained again) keeps it, then resolves it once the flood is older
        # than hold_blocks.
        agent = SecurityAgent([NodeTarget("dev", url)], cfg, book)
        agent.check()
        assert [e[0] for e in rec.events] == ["raised"] and book.active()
        for _ in range(cfg.hold_blocks):
            _normal_block(node, rng, keys)
            agent.check()
        assert rec.events == [("raised", key), ("resolved", key)], rec.events
        print(
            f"agents figures: anomaly model trained on 295 blocks in {trained_in:.2f} s; "
            f"alert at the first run after the flood; worst score {alert.details['score']} "
            f"(threshold {alert.details['threshold']})"
        )


class _Unsafe(http.server.BaseHTTPRequestHandler):
    """Answers like a node of a real chain whose dev controls are not refused (a node this code
    base cannot be configured into: the audit's alarm for it is checked here)."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": req["id"]}
        if req["method"] == "node_info":
            reply["result"] = {"chain_id": "main-1", "engine": "bft", "height": "9"}
        elif req["method"] == "dev_snapshot":
            reply["result"] = 0
        else:
            reply["error"] = {"code": -32601, "message": "no such method"}
        body = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.timeout(120)
def test_the_exposure_audit_flags_an_unsafe_node_and_passes_a_safe_one(tmp_path: Path) -> None:
    base = _free_base(2)
    homes = []
    for i, name in enumerate(("safe", "unsafe")):
        home = tmp_path / name
        r = subprocess.run(
            [sys.executable, "-m", "batara", "init", "--home", str(home), "--chain-id", f"audit-{i}"],
            capture_output=True, text=True, timeout=60,
        )
        assert r.returncode == 0, r.stderr
        cfg = (home / "config.toml").read_text()
        bind = "127.0.0.1" if name == "safe" else "0.0.0.0"
        cfg = cfg.replace('addr = "127.0.0.1:8545"', f'addr = "{bind}:{base + i}"')
        if name == "unsafe":
            cfg = cfg.replace("[rpc]\n", '[rpc]\nallowed_origins = ["*"]\n')
            os.chmod(home / "validator_key.json", 0o644)
        (home / "config.toml").write_text(cfg)
        homes.append(home)
    procs = []
    for home in homes:
        log = open(home / "node.log", "ab")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "batara", "start", "--home", str(home)], stdout=log, stderr=log
        ))
        log.close()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unsafe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        urls = [f"http://127.0.0.1:{base + i}" for i in range(2)]
        _until("both nodes past height 2", 60, lambda: min(_height(u) for u in urls) >= 2)
        targets = [NodeTarget(n, u, str(h)) for n, u, h in zip(("safe", "unsafe"), urls, homes)]
        # A copy of the safe home whose data directory lost its guard (the audit reads files:
        # a running node rewrites its guard at every signature, so the copy is the way to have
        # a validator's home without one).
        guardless = tmp_path / "guardless"
        shutil.copytree(homes[0], guardless, ignore=shutil.ignore_patterns("sign_state.json"))
        targets.append(NodeTarget("guardless", urls[0], str(guardless)))
        targets.append(NodeTarget("foreign", f"http://127.0.0.1:{server.server_address[1]}"))
        book = AlertBook(tmp_path / "state.json", [])
        agent = SecurityAgent(targets, SecurityConfig(anomaly=False), book)
        agent.check()
        keys = sorted(a.key for a in book.active())
        assert keys == [
            "exposed_dev_controls/foreign",
            "key_readable/unsafe/validator_key.json",
            "no_sign_guard/guardless",
            "open_origins/unsafe",
            "public_rpc/unsafe",
        ], keys
        assert book.alerts["key_readable/unsafe/validator_key.json"].severity is Severity.CRITICAL
        assert "0644" in book.alerts["key_readable/unsafe/validator_key.json"].summary
        # Fixed on disk: the key file's alert resolves at the next run.
        os.chmod(homes[1] / "validator_key.json", 0o600)
        agent.check()
        assert "key_readable/unsafe/validator_key.json" not in [a.key for a in book.active()]
    finally:
        server.shutdown()
        server.server_close()
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()


@pytest.mark.timeout(180)
def test_a_supervised_node_killed_with_sigkill_is_back_within_its_backoff(tmp_path: Path) -> None:
    home = tmp_path / "node"
    port = _free_base(1)
    r = subprocess.run(
        [sys.executable, "-m", "batara", "init", "--home", str(home), "--chain-id", "sup-1"],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    cfg = (home / "config.toml").read_text().replace("127.0.0.1:8545", f"127.0.0.1:{port}")
    (home / "config.toml").write_text(cfg)
    url = f"http://127.0.0.1:{port}"
    rec = Recorder()
    book = AlertBook(tmp_path / "state.json", [rec], repeat_seconds=3600)
    node = ProcessSpec(
        "node", [sys.executable, "-m", "batara", "start", "--home", str(home)],
        log=str(tmp_path / "node.log"), backoff_seconds=3.0, healthy_seconds=5.0,
    )
    crash = ProcessSpec(
        "crash", [sys.executable, "-c", "import sys; sys.exit(3)"],
        backoff_seconds=0.1, max_failures=3, healthy_seconds=5.0,
    )
    with Supervisor([node, crash], book) as sup:
        _until("the node at height 2", 60, lambda: _height(url) >= 2)
        h = _height(url)
        pid = sup.pid("node")
        assert pid is not None
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        _until("process_down raised", 5, _raised_prefix(sup.check, book, "process_down/node"))
        _until("a new node process", 10, lambda: sup.pid("node") not in (None, pid))
        respawn = time.monotonic() - killed
        _until("the node answering again", 60, lambda: _height(url) > h)
        back = time.monotonic() - killed
        sup.check()
        assert respawn >= node.backoff_seconds, "not restarted faster than its backoff"
        assert respawn < node.backoff_seconds + 3, respawn
        assert sup.restarts("node") == 1
        # A process that keeps exiting is given up on after max_failures short runs.
        _until("gave_up", 10, _raised_prefix(sup.check, book, "gave_up/crash"))
        assert sup.restarts("crash") == crash.max_failures - 1 and sup.pid("crash") is None
        assert book.alerts["gave_up/crash"].severity is Severity.CRITICAL
        assert "exit code 3" in book.alerts["gave_up/crash"].summary
        events = [e for e in rec.events if e[1] == "process_down/node"]
        assert events == [("raised", "process_down/node"), ("resolved", "process_down/node")]
        print(f"agents figures: SIGKILL to restart {respawn:.1f} s, to answering again {back:.1f} s")
    assert _height(url) == 0, "the supervisor stopped its child"


@pytest.mark.timeout(120)
def test_the_agents_serve_metrics_that_follow_their_runs(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    with Node.dev(accounts=2, mode="manual", rpc_addr="127.0.0.1:0") as node:
        node.mine(3)
        cfg = tmp_path / "agents.toml"
        cfg.write_text(
            f'[[nodes]]\nname = "dev"\nurl = "{node.rpc_url}"\n'
            f'[[nodes]]\nname = "gone"\nurl = "http://127.0.0.1:{dead}"\n'
            '[monitor]\nmin_peers = 0\n[metrics]\naddr = "127.0.0.1:0"\n[[sinks]]\ntype = "file"\npath = "alerts.jsonl"\n'
        )
        agents = Agents(load(cfg))
        agents.serve()
        try:
            assert agents.metrics is not None
            for _ in range(2):
                agents.run_once()
            with urllib.request.urlopen(agents.metrics.url, timeout=5) as r:
                assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                text = r.read().decode()
        finally:
            agents.close()
    got = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    assert got[("batara_agents_alerts_active", (("severity", "critical"),))] == 1  # gone is down
    assert got[("batara_agents_alerts_active", (("severity", "warning"),))] == 0
    assert got[("batara_agents_checks_total", (("agent", "monitor"),))] == 2
    assert got[("batara_agents_checks_total", (("agent", "security"),))] == 2
    assert got[("batara_agents_rpc_calls_total", (("agent", "monitor"),))] == agents.monitor.calls > 0
    # Three blocks are too short a history: no model, no score series yet.
    assert not any(name.startswith("batara_agents_anomaly") for name, _ in got)


@pytest.mark.timeout(180)
def test_backups_taken_under_load_restore_to_the_live_state_root_and_are_pruned(
    tmp_path: Path,
) -> None:
    home = tmp_path / "node"
    port = _free_base(1)
    alice = dev_account(0)
    r = subprocess.run(
        [sys.executable, "-m", "batara", "init", "--home", str(home), "--chain-id", "bk-1",
         "--fund", f"{alice.address}={10**24}"],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    cfg = (home / "config.toml").read_text().replace("127.0.0.1:8545", f"127.0.0.1:{port}")
    (home / "config.toml").write_text('backup_dir = "backups"\n' + cfg)
    log = open(tmp_path / "node.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "batara", "start", "--home", str(home)],
                            stdout=log, stderr=log)
    log.close()
    url = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    sent = [0]

    def load() -> None:  # transfers the whole time the backups are taken
        c = Client(url, timeout=10)
        bob = Keypair.generate().address
        while not stop.is_set():
            c.transfer(alice, bob, 1, wait=False)
            sent[0] += 1
            time.sleep(0.005)

    try:
        _until("the node at height 2", 60, lambda: _height(url) >= 2)
        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        offset = [0.0]
        book = AlertBook(tmp_path / "state.json", [])
        spec = BackupSpec("n", str(home / "backups"), every_seconds=0, keep_seconds=3600)
        agent = BackupAgent([NodeTarget("n", url, str(home))], [spec], book,
                            clock=lambda: time.time() + offset[0])
        for _ in range(2):
            h = _height(url)
            _until("a new block under load", 30, lambda: _height(url) > h)
            assert agent.check() == [], book.active()
        stop.set()
        loader.join()
        assert sent[0] > 50, "the load ran"
        first, second = agent.verified
        assert int(first["height"]) < int(second["height"])
        client = Client(url)
        for b in (first, second):
            live = client.header(int(b["height"]))["header"]["state_root"]
            assert b["state_root"] == live, b
            assert (Path(b["dir"]) / "verified.json").exists()
        # A backup that does not restore, or restores to another root, fails verification.
        bad = tmp_path / "bad"
        shutil.copytree(second["dir"], bad)
        manifest = json.loads((bad / "backup.json").read_text())
        manifest["state_root"] = "0x" + "00" * 32
        (bad / "backup.json").write_text(json.dumps(manifest))
        with pytest.raises(VerifyError, match="state root"):
            verify(bad, client)
        for sst in (bad / "data" / "db").glob("*.sst"):
            sst.unlink()
        for f in (bad / "data" / "db").glob("MANIFEST-*"):
            f.write_bytes(b"damaged")
        with pytest.raises(VerifyError, match="does not open"):
            verify(bad, client)
        # Pruned by age: two hours on, with keep_seconds of one, only the newest stays.
        spec.every_seconds, offset[0] = 100_000, 7200
        assert agent.check() == []
        assert [p.name for p in (home / "backups").iterdir()] == [Path(second["dir"]).name]
        # Pointed at the wrong directory: the backup cannot be found there, a critical alert.
        wrong = BackupSpec("n", str(tmp_path / "elsewhere"), every_seconds=0)
        failing = BackupAgent([NodeTarget("n", url)], [wrong], book)
        failing.check()
        alert = book.alerts["backup_failed/n"]
        assert alert.severity is Severity.CRITICAL and "backup_dir" in alert.summary
        print(
            "agents figures: backups under load verified at heights "
            f"{first['height']} and {second['height']}, restore + check "
            f"{first['restore_seconds']} / {second['restore_seconds']} s"
        )
    finally:
        stop.set()
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_an_agent_that_fails_does_not_stop_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "agents.toml"
    cfg.write_text('[[nodes]]\nname = "gone"\nurl = "http://127.0.0.1:9"\n[security]\nanomaly = false\n'
                   '[[sinks]]\ntype = "file"\npath = "alerts.jsonl"\n')
    agents = Agents(load(cfg))

    def boom() -> None:
        raise RuntimeError("a check tripped")

    agents.monitor.check = boom  # type: ignore[method-assign, assignment]
    agents.run_once()
    assert "the monitor agent failed this run: RuntimeError('a check tripped')" in capsys.readouterr().err
    assert agents.counters.checks["security"] == 1 and agents.counters.checks["supervisor"] == 0
    # The security agent ran: the unreachable node's audit is unknown, nothing raised or lost.
    assert agents.book.active() == []
    agents.close()
