"""The security agent: double signing, anomalous chain activity, and an exposure audit of each
node. Three checks, each with its own alerts (an audit that cannot run never resolves an
evidence alert):

* ``double_sign/<validator>/<height>`` (critical, source ``evidence``): a block holds evidence
  that the validator signed two different votes of one kind at ``height`` (the vote height).
  Each node's own chain is read, so the alert names every node whose chain holds the evidence
  (``details.nodes``) and the block that carries it. Active while that block is among the last
  ``evidence_blocks`` blocks: a past offence stays visible for that long, then resolves.
* ``anomalous_activity/<chain id>`` (warning, source ``anomaly``): a block the model of
  :mod:`batara.agents.activity` finds anomalous, with the features that make it so and by how
  much; active while one of the last ``hold_blocks`` blocks is anomalous. The model is trained
  at the first run on the last ``history_blocks`` blocks (waiting, with a line on stderr, until
  the chain has :data:`~batara.agents.activity.MIN_TRAINING_BLOCKS`).
* The exposure audit (source ``audit``), per node, see :mod:`batara.agents.audit`.

At the first run the last ``evidence_blocks`` blocks of every node (at most
:data:`MAX_BLOCKS_PER_RUN` per run, so a long history is read over several runs, keeping the
alerts as they are meanwhile) and the last ``hold_blocks`` of the primary are read, so a
restarted agent resolves and raises exactly what a running one would.

RPC cost per new block: one ``chain_getBlock`` per node (evidence) and one
``chain_getReceipts`` on the first node that answers (features, only for blocks with
transactions); the audit costs three requests per node per run.

Must never: write to a node (``dev_snapshot`` is asked only of nodes that report they are not dev
chains, where it must be refused), or raise an anomaly from a model trained on fewer blocks than
the minimum.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from batara.agents.alerts import AlertBook, Problem, Severity
from batara.agents.audit import audit
from batara.agents.monitor import NodeTarget
from batara.client import Client
from batara.exceptions import BataraError

if TYPE_CHECKING:  # scikit-learn is imported when the model is first trained
    from batara.agents.activity import ActivityModel, Verdict

#: Most blocks read per node per run.
MAX_BLOCKS_PER_RUN = 200


@dataclass
class SecurityConfig:
    """``[security]`` in ``agents.toml``."""

    #: Blocks an evidence alert stays active after the block that carries it.
    evidence_blocks: int = 1000
    #: Train the anomaly model and alert on anomalous blocks.
    anomaly: bool = True
    #: Blocks of history the model is trained on (the latest ones).
    history_blocks: int = 10_000
    #: Spreads a feature must be out of its training range to explain an anomaly.
    min_deviation: float = 3.0
    #: An anomaly alert stays active while one of this many latest blocks is anomalous.
    hold_blocks: int = 10
    #: Run the exposure audit of each node.
    audit: bool = True


@dataclass
class _Evidence:
    validator: str
    height: int
    round: int
    kind: str
    block: int
    nodes: set[str]


class SecurityAgent:
    """Runs the three checks of the module docs against ``nodes``."""

    def __init__(
        self,
        nodes: list[NodeTarget],
        config: SecurityConfig,
        book: AlertBook,
        timeout: float = 5.0,
    ) -> None:
        if not nodes:
            raise ValueError("the security agent needs at least one node to watch")
        if config.hold_blocks < 1 or config.evidence_blocks < 1:
            raise ValueError("security.hold_blocks and security.evidence_blocks must be at least 1")
        if config.anomaly and importlib.util.find_spec("sklearn") is None:
            raise ValueError(
                "the anomaly model needs scikit-learn: pip install 'batara[agents]' "
                "(or set security.anomaly = false)"
            )
        self.nodes = nodes
        self.config = config
        self.book = book
        self.clients = {n.name: Client(n.url, timeout=timeout) for n in nodes}
        self._cursor: dict[str, int] = {}
        self._evidence: dict[tuple[str, int, int, str], _Evidence] = {}
        #: Evidence carried by blocks at or below this height no longer raises an alert.
        self._expired_below = 0
        self.model: Optional[ActivityModel] = None
        #: Seconds the model took to train (reads and fit), once trained.
        self.training_seconds: Optional[float] = None
        self._scored: Optional[int] = None
        self._verdicts: deque[Verdict] = deque()
        self._waiting_said = False
        #: Score of the latest block judged (for the agents' metrics).
        self.last_score: Optional[float] = None
        #: RPC calls made so far.
        self.calls = 0

    def check(self) -> None:
        """One run of each check; the book updated per check."""
        evidence, anomaly, ok = self._evidence_problems()
        if not ok:  # a chain not read to its head may still hold what an active alert saw
            seen = {p.key for p in evidence}
            evidence += [
                p
                for p in self.book.still("evidence")
                if p.key not in seen and int(p.details.get("block", 0)) > self._expired_below
            ]
        self.book.update("evidence", evidence)
        if self.config.anomaly:
            self.book.update("anomaly", anomaly if anomaly is not None else self.book.still("anomaly"))
        if self.config.audit:
            found: list[Problem] = []
            for n in self.nodes:
                got, requests = audit(n, self.clients[n.name])
                self.calls += requests
                if got is None:  # unreachable: its audit alerts stay as they are
                    got = [p for p in self.book.still("audit") if p.details.get("node") == n.name]
                found += got
            self.book.update("audit", found)

    # --- evidence ------------------------------------------------------------------------

    def _evidence_problems(self) -> tuple[list[Problem], Optional[list[Problem]], bool]:
        """Evidence problems, anomaly problems (None: could not look), and whether every node's
        chain was read up to its head."""
        complete = True
        anomaly: Optional[list[Problem]] = None
        primary_done = False
        newest = 0
        for n in self.nodes:
            client = self.clients[n.name]
            try:
                head = int(self._call(client.info)["height"])
                newest = max(newest, head)
                if not primary_done and self.config.anomaly and self.model is None:
                    self._train(client, head)
                back = max(self.config.evidence_blocks, self.config.hold_blocks)
                start = self._cursor.get(n.name, max(1, head - back + 1))
                end = min(head, start + MAX_BLOCKS_PER_RUN - 1)
                for h in range(start, end + 1):
                    blk = self._call(client.block, h)
                    self._note_evidence(n.name, h, blk)
                    if not primary_done and self.config.anomaly:
                        self._judge(client, h, blk, head)
                    self._cursor[n.name] = h + 1
                complete = complete and end == head
                if not primary_done and self.config.anomaly and end == head:
                    # (Still catching up: the blocks of the window are not all judged yet.)
                    anomaly = self._anomaly_problems(client)
                primary_done = True
            except (BataraError, AttributeError, KeyError, TypeError, ValueError):
                # Unreachable, or answers that are not a Batara node's: not read this run.
                complete = False
        self._expired_below = max(self._expired_below, newest - self.config.evidence_blocks)
        for key, e in list(self._evidence.items()):
            if e.block <= self._expired_below:
                del self._evidence[key]
        problems = [
            Problem(
                f"double_sign/{e.validator}/{e.height}",
                Severity.CRITICAL,
                f"validator {e.validator} signed two different {e.kind}s at height {e.height} "
                f"round {e.round} (evidence in block {e.block}, on {', '.join(sorted(e.nodes))})",
                {
                    "validator": e.validator,
                    "height": e.height,
                    "round": e.round,
                    "kind": e.kind,
                    "block": e.block,
                    "nodes": sorted(e.nodes),
                },
            )
            for e in self._evidence.values()
        ]
        return problems, anomaly, complete

    def _note_evidence(self, node: str, height: int, blk: dict[str, Any]) -> None:
        for ev in blk.get("evidence") or []:
            v = ev["vote_a"]
            key = (v["validator"], int(v["height"]), int(v["round"]), v["kind"])
            e = self._evidence.get(key)
            if e is None:
                e = self._evidence[key] = _Evidence(
                    key[0], key[1], key[2], key[3], height, set()
                )
            e.nodes.add(node)

    # --- anomalies -----------------------------------------------------------------------

    def _judge(self, client: Client, h: int, blk: dict[str, Any], head: int) -> None:
        if self.model is None or h <= (self._scored or 0) or h <= head - self.config.hold_blocks:
            return
        from batara.agents.activity import block_features

        receipts = self._call(client.receipts, h) if blk["txs"] else []
        verdict = self.model.judge(h, block_features(blk, receipts))
        self.last_score = verdict.score
        self._scored = h
        self._verdicts.append(verdict)
        while self._verdicts and self._verdicts[0].height <= head - self.config.hold_blocks:
            self._verdicts.popleft()

    def _anomaly_problems(self, client: Client) -> list[Problem]:
        bad = [v for v in self._verdicts if v.anomalous]
        if not bad:
            return []
        worst = min(bad, key=lambda v: v.score)
        chain = self._call(lambda: client.chain_id)
        return [
            Problem(
                f"anomalous_activity/{chain}",
                Severity.WARNING,
                f"block {worst.height} is unusual: "
                + "; ".join(d.describe() for d in worst.deviations),
                {
                    "height": worst.height,
                    "blocks": [v.height for v in bad],
                    "score": round(worst.score, 4),
                    "threshold": round(worst.threshold, 4),
                    "features": [
                        {
                            "feature": d.feature,
                            "value": d.value,
                            "normal": [d.normal_low, d.normal_high],
                            "spreads": round(d.spreads, 2),
                        }
                        for d in worst.deviations
                    ],
                },
            )
        ]

    def _train(self, client: Client, head: int) -> None:
        from batara.agents.activity import MIN_TRAINING_BLOCKS, train

        # The history ends hold_blocks before the head: those are judged, as a running agent
        # would have judged them (a block the model trained on can never be anomalous).
        end = head - self.config.hold_blocks
        if end < MIN_TRAINING_BLOCKS:
            if not self._waiting_said:
                print(
                    f"batara-agents: the anomaly model waits for {MIN_TRAINING_BLOCKS} blocks "
                    f"of history (the chain is at {head}, the last {self.config.hold_blocks} "
                    "are judged, not learnt)",
                    file=sys.stderr,
                )
                self._waiting_said = True
            return
        self.model, self.training_seconds, reads = train(
            client, self.config.history_blocks, end=end, min_deviation=self.config.min_deviation
        )
        self.calls += reads
        self._scored = end

    def _call(self, f: Any, *args: Any) -> Any:
        self.calls += 1
        return f(*args)
