"""The monitoring agent: watches nodes over JSON-RPC (the SDK's :class:`~batara.Client`) and
reports, through an :class:`~batara.agents.AlertBook`, what tenderduty and PANIC alert on:

* ``endpoint_down/<node>`` (critical): the node does not answer.
* ``stalled/<node>`` (critical): its height has not moved for ``stall_seconds``.
* ``low_peers/<node>`` (warning): fewer than ``min_peers`` peers.
* ``syncing/<node>`` (warning): it is catching up (block sync).
* ``mempool_backlog/<node>`` (warning): more than ``mempool_backlog`` transactions waiting.
* ``missed_blocks/<validator>`` (warning): a watched validator is missing from the last
  ``missed_blocks`` commits in a row (read from each block's ``last_commit``, which carries every
  precommit that arrived in time).
* ``jailed/<validator>`` (warning) and ``tombstoned/<validator>`` (critical), from its staking
  record; ``downtime/<validator>`` (warning) when it missed ``downtime_missed`` blocks of the
  chain's downtime window (its record's ``missed``: the misses that count toward downtime
  jailing, consecutive or not); ``unbonding/<validator>`` (info) while its operator has funds
  unbonding.
* ``block_interval/<chain id>`` (warning): the mean interval of the last ``interval_blocks``
  blocks exceeds the expected one (``expected_block_seconds``, or learnt from the last 100 blocks
  at the first run) by more than ``interval_tolerance`` — "not catching up" before a stall.

Each run is one :meth:`MonitorAgent.check`; an alert resolves at the first run that no longer
sees its cause. Missed-block counts are rebuilt from the chain at the first run (the last
``missed_blocks`` blocks are read), so a restarted agent neither resolves an active alert early nor
raises it late. RPC cost: per run one ``node_info`` per node; per new block one
``chain_getBlock`` and one ``staking_getValidators``; per watched validator one
``staking_getValidator``.

Must never: write to a node (it only reads), or let one unreachable node stop the checks of the
others.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Optional

from batara.agents.alerts import AlertBook, Problem, Severity
from batara.client import Client
from batara.exceptions import BataraError

SOURCE = "monitor"
#: Most blocks read per run (a long outage of the agent is caught up over several runs).
MAX_BLOCKS_PER_RUN = 200
#: Blocks the expected interval is learnt from when ``expected_block_seconds`` is 0.
BASELINE_BLOCKS = 100


@dataclass
class NodeTarget:
    """A node to watch: a name for the alerts, its JSON-RPC URL and, when the agents run on its
    machine, its home directory (read by the exposure audit, never written)."""

    name: str
    url: str
    home: Optional[str] = None


@dataclass
class MonitorConfig:
    """Thresholds (``[monitor]`` in ``agents.toml``)."""

    stall_seconds: float = 30.0
    missed_blocks: int = 5
    min_peers: int = 1
    mempool_backlog: int = 10_000
    #: Validator addresses to watch; empty: every validator of the current set.
    validators: list[str] = field(default_factory=list)
    #: Blocks of the downtime window a validator may miss before a warning (set it below the
    #: chain's ``downtime_max_missed``, 50 by default, past which it is jailed).
    downtime_missed: int = 25
    #: The block interval a healthy chain keeps, seconds; 0: learnt at the first run (the mean
    #: over the last ``BASELINE_BLOCKS`` blocks).
    expected_block_seconds: float = 0.0
    #: The mean interval of the last ``interval_blocks`` blocks may exceed the expected one by
    #: this fraction before a drift warning.
    interval_tolerance: float = 0.5
    interval_blocks: int = 20


@dataclass
class _NodeState:
    height: int
    since: float


class MonitorAgent:
    """Runs the checks of the module docs against ``nodes`` (see there)."""

    def __init__(
        self,
        nodes: list[NodeTarget],
        config: MonitorConfig,
        book: AlertBook,
        timeout: float = 5.0,
    ) -> None:
        if not nodes:
            raise ValueError("the monitoring agent needs at least one node to watch")
        if config.missed_blocks < 1 or config.interval_blocks < 1:
            raise ValueError("monitor.missed_blocks and monitor.interval_blocks must be at least 1")
        self.nodes = nodes
        self.config = config
        self.book = book
        self.clients = {n.name: Client(n.url, timeout=timeout) for n in nodes}
        self._nodes: dict[str, _NodeState] = {}
        self._last_block: Optional[int] = None
        self._consecutive: dict[str, int] = {}
        #: (height, time in ms) of the latest blocks read, for the interval drift.
        self._times: deque[tuple[int, int]] = deque(maxlen=config.interval_blocks + 1)
        self._expected_ms: Optional[float] = (
            config.expected_block_seconds * 1000 if config.expected_block_seconds > 0 else None
        )
        #: RPC calls made so far (the agents' cost on the nodes).
        self.calls = 0

    def check(self) -> list[Problem]:
        """One run: every check, then the book updated. Returns the problems seen."""
        now = self.book.clock()
        problems: list[Problem] = []
        chain: Optional[Client] = None
        for n in self.nodes:
            client = self.clients[n.name]
            try:
                info = self._call(client.info)
            except BataraError as e:
                problems.append(
                    Problem(
                        f"endpoint_down/{n.name}",
                        Severity.CRITICAL,
                        f"{n.name} ({n.url}) does not answer: {e}",
                        {"node": n.name, "url": n.url},
                    )
                )
                continue
            chain = chain or client
            problems += self._node_problems(n, info, now)
        if chain is not None:
            try:
                problems += self._validator_problems(chain)
            except BataraError:
                # The node went away mid-run: keep the validators' alerts as they are.
                problems += self.book.still(SOURCE, _VALIDATOR_KINDS)
        self.book.update(SOURCE, problems)
        return problems

    def _call(self, f: Any, *args: Any) -> Any:
        self.calls += 1
        return f(*args)

    def _node_problems(self, n: NodeTarget, info: dict[str, Any], now: float) -> list[Problem]:
        c = self.config
        out = []
        height = int(info["height"])
        st = self._nodes.get(n.name)
        if st is None or st.height != height:
            self._nodes[n.name] = st = _NodeState(height, now)
        stalled_for = now - st.since
        if stalled_for >= c.stall_seconds:
            out.append(
                Problem(
                    f"stalled/{n.name}",
                    Severity.CRITICAL,
                    f"{n.name}: no new block for {stalled_for:.0f} s (height {height})",
                    {"node": n.name, "height": height, "seconds": round(stalled_for, 1)},
                )
            )
        peers = int(info.get("peers", 0))
        if peers < c.min_peers:
            out.append(
                Problem(
                    f"low_peers/{n.name}",
                    Severity.WARNING,
                    f"{n.name}: {peers} peers (at least {c.min_peers} expected)",
                    {"node": n.name, "peers": peers},
                )
            )
        if info.get("syncing"):
            out.append(
                Problem(
                    f"syncing/{n.name}",
                    Severity.WARNING,
                    f"{n.name} is catching up (at height {height})",
                    {"node": n.name, "height": height},
                )
            )
        backlog = int(info.get("mempool_txs", 0))
        if backlog > c.mempool_backlog:
            out.append(
                Problem(
                    f"mempool_backlog/{n.name}",
                    Severity.WARNING,
                    f"{n.name}: {backlog} transactions waiting (more than {c.mempool_backlog})",
                    {"node": n.name, "mempool_txs": backlog},
                )
            )
        return out

    def _validator_problems(self, chain: Client) -> list[Problem]:
        c = self.config
        head = int(self._call(chain.info)["height"])
        start = (
            max(1, head - c.missed_blocks + 1)
            if self._last_block is None
            else self._last_block + 1
        )
        start = max(start, head - MAX_BLOCKS_PER_RUN + 1, 2)
        if self._expected_ms is None and head > 2:
            first = max(1, head - BASELINE_BLOCKS)
            t0 = int(self._call(chain.header, first)["header"]["time"])
            t1 = int(self._call(chain.header, head)["header"]["time"])
            self._expected_ms = (t1 - t0) / (head - first)
        current: list[str] = []
        for h in range(start, head + 1):
            block = self._call(chain.block, h)
            self._times.append((h, int(block["header"]["time"])))
            signed = {s["validator"] for s in (block.get("last_commit") or {}).get("signatures", [])}
            expected = [v["address"] for v in self._call(chain.validators, h - 1)]
            for v in expected:
                if c.validators and v not in c.validators:
                    continue
                self._consecutive[v] = 0 if v in signed else self._consecutive.get(v, 0) + 1
            current = expected
        self._last_block = max(head, self._last_block or 0)
        watched = c.validators or current or list(self._consecutive)
        out = self._interval_problem(chain)
        for v in watched:
            missed = self._consecutive.get(v, 0)
            if missed >= c.missed_blocks:
                out.append(
                    Problem(
                        f"missed_blocks/{v}",
                        Severity.WARNING,
                        f"validator {v} missed the last {missed} blocks (up to height {head - 1})",
                        {"validator": v, "missed": missed, "height": head - 1},
                    )
                )
            try:
                rec = self._call(chain.validator, v)
            except BataraError:
                continue
            if rec.get("tombstoned"):
                out.append(
                    Problem(
                        f"tombstoned/{v}",
                        Severity.CRITICAL,
                        f"validator {v} is jailed for good (double signing)",
                        {"validator": v},
                    )
                )
            elif rec.get("jailed"):
                out.append(
                    Problem(
                        f"jailed/{v}",
                        Severity.WARNING,
                        f"validator {v} is jailed until height {rec.get('jailed_until')}",
                        {"validator": v, "jailed_until": rec.get("jailed_until")},
                    )
                )
            window_missed = len(rec.get("missed") or [])
            if window_missed >= c.downtime_missed and not rec.get("jailed"):
                out.append(
                    Problem(
                        f"downtime/{v}",
                        Severity.WARNING,
                        f"validator {v} missed {window_missed} blocks of the downtime window "
                        "(jailed past the chain's downtime_max_missed)",
                        {"validator": v, "missed": window_missed},
                    )
                )
            unbonding = rec.get("unbonding") or []
            if unbonding:
                total = sum(int(u["amount"]) for u in unbonding)
                last = max(int(u["height"]) for u in unbonding)
                out.append(
                    Problem(
                        f"unbonding/{v}",
                        Severity.INFO,
                        f"validator {v}'s operator has {total} unbonding until height {last}",
                        {"validator": v, "amount": str(total), "until": last},
                    )
                )
        return out

    def _interval_problem(self, chain: Client) -> list[Problem]:
        c = self.config
        if self._expected_ms is None or len(self._times) <= c.interval_blocks:
            return []
        (h0, t0), (h1, t1) = self._times[0], self._times[-1]
        mean_ms = (t1 - t0) / (h1 - h0)
        if mean_ms <= self._expected_ms * (1 + c.interval_tolerance):
            return []
        chain_id = self._call(lambda: chain.chain_id)
        return [
            Problem(
                f"block_interval/{chain_id}",
                Severity.WARNING,
                f"blocks {h0}..{h1} came every {mean_ms / 1000:.2f} s on average (expected "
                f"{self._expected_ms / 1000:.2f} s)",
                {"mean_seconds": round(mean_ms / 1000, 3),
                 "expected_seconds": round(self._expected_ms / 1000, 3), "height": h1},
            )
        ]


#: The alerts read from the chain (kept as they are when it cannot be read).
_VALIDATOR_KINDS = {
    "missed_blocks", "jailed", "tombstoned", "downtime", "unbonding", "block_interval",
}  # fmt: skip
