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
  record.

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

from dataclasses import dataclass, field
from typing import Any, Optional

from batara.agents.alerts import AlertBook, Problem, Severity
from batara.client import Client
from batara.exceptions import BataraError

SOURCE = "monitor"
#: Most blocks read per run (a long outage of the agent is caught up over several runs).
MAX_BLOCKS_PER_RUN = 200


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
        if config.missed_blocks < 1:
            raise ValueError("monitor.missed_blocks must be at least 1")
        self.nodes = nodes
        self.config = config
        self.book = book
        self.clients = {n.name: Client(n.url, timeout=timeout) for n in nodes}
        self._nodes: dict[str, _NodeState] = {}
        self._last_block: Optional[int] = None
        self._consecutive: dict[str, int] = {}
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
        current: list[str] = []
        for h in range(start, head + 1):
            block = self._call(chain.block, h)
            signed = {s["validator"] for s in (block.get("last_commit") or {}).get("signatures", [])}
            expected = [v["address"] for v in self._call(chain.validators, h - 1)]
            for v in expected:
                if c.validators and v not in c.validators:
                    continue
                self._consecutive[v] = 0 if v in signed else self._consecutive.get(v, 0) + 1
            current = expected
        self._last_block = max(head, self._last_block or 0)
        watched = c.validators or current or list(self._consecutive)
        out = []
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
        return out


_VALIDATOR_KINDS = {"missed_blocks", "jailed", "tombstoned"}
