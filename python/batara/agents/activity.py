"""The anomaly model of the security agent: per-block activity features, an isolation forest
(scikit-learn) trained on the chain's own history, and an explanation of each anomaly.

Features of a block (:data:`FEATURES`), from the block and its receipts only:

* ``tx_count`` — transactions in the block;
* ``distinct_senders`` — different signers;
* ``new_senders`` — transactions with nonce 0 (an account's first transaction ever: exact, with
  no state read — new accounts show up here when they start sending);
* ``value_moved`` — sum of the amounts (transfers, stakes, unstakes) and the values of calls and
  instantiations;
* ``mean_value`` — ``value_moved / tx_count`` (a flood of tiny transfers drives it down);
* ``fees`` — sum of fees paid;
* ``failed_ratio`` — failed transactions over all;
* ``contract_gas`` — gas used by contract transactions.

Counts and amounts are compared as ``log1p`` (an amount of 10¹⁸ and one of 10²⁰ differ by a
factor, not by 10²⁰); ``failed_ratio`` as it is.

Each block's features are compared with the history in two ways:

* **Far out** (Tukey's outer fence, on the history's own spread): a feature lies outside the
  training range (its 1st..99th percentile) by at least ``min_deviation`` spreads (the
  interquartile range of the transformed feature, at least :data:`MIN_SPREAD`; 3 by default).
* **Stranger than all of history**: the forest scores it below every training block
  (``score_samples``, lower is stranger) and some feature is at least one spread out — a
  combination the history never showed, explained by the features furthest out.

Either makes the block **anomalous**; an alert names each feature at least one spread out, its
value, its normal range and by how many spreads. The forest alone would not do: its scores
saturate beyond the training range (splits are drawn within it, so a block far out on three
features can score like the history's own first blocks), and an alert with no feature to point
at is one nobody can act on.

Must never: read state (only blocks and receipts), or train on fewer than
:data:`MIN_TRAINING_BLOCKS` blocks (an alert from a model that has seen nothing is noise).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Optional, Protocol, Union

import numpy as np

from batara.exceptions import BataraError

try:
    from sklearn.ensemble import IsolationForest  # type: ignore[import-untyped]
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the anomaly model needs scikit-learn: pip install 'batara[agents]'"
    ) from e

#: The features, in column order.
FEATURES = (
    "tx_count",
    "distinct_senders",
    "new_senders",
    "value_moved",
    "mean_value",
    "fees",
    "failed_ratio",
    "contract_gas",
)
_LINEAR = {"failed_ratio"}
#: The least spread of a transformed feature (a history where a feature never moved would
#: otherwise call any change, however small, infinitely far out).
MIN_SPREAD = 0.5
#: Fewer blocks than this are not a history to learn from.
MIN_TRAINING_BLOCKS = 50


class BlockSource(Protocol):
    """What the model reads: a :class:`~batara.Node`, :class:`~batara.Client` or
    :class:`~batara.ChainReader`."""

    @property
    def height(self) -> int: ...

    def block(self, block: Union[int, str, None] = None) -> dict[str, Any]: ...

    def receipts(self, block: Union[int, str, None] = None) -> list[dict[str, Any]]: ...


def block_features(block: dict[str, Any], receipts: list[dict[str, Any]]) -> dict[str, float]:
    """The features of one block (see the module docs); ``receipts`` in transaction order."""
    txs = block["txs"]
    senders = set()
    new = 0
    value = 0
    fees = 0
    failed = 0
    gas = 0
    for tx, rc in zip(txs, receipts):
        body = tx["body"]
        kind = body["kind"]
        senders.add(body["signer"])
        new += int(body["nonce"]) == 0
        value += int(kind.get("amount", kind.get("value", 0)))
        fees += int(rc["fee"])
        failed += rc["status"] != "success"
        if "gas_limit" in kind:
            gas += int(rc["gas_used"])
    n = len(txs)
    return {
        "tx_count": float(n),
        "distinct_senders": float(len(senders)),
        "new_senders": float(new),
        "value_moved": float(value),
        "mean_value": value / n if n else 0.0,
        "fees": float(fees),
        "failed_ratio": failed / n if n else 0.0,
        "contract_gas": float(gas),
    }


def _transform(rows: list[dict[str, float]]) -> "np.ndarray[Any, np.dtype[np.float64]]":
    return np.array(
        [[r[f] if f in _LINEAR else math.log1p(max(r[f], 0.0)) for f in FEATURES] for r in rows],
        dtype=np.float64,
    )


@dataclass
class Deviation:
    """One feature out of its normal range."""

    feature: str
    value: float
    normal_low: float
    normal_high: float
    #: How far out, in spreads of the transformed feature (see the module docs).
    spreads: float

    def describe(self) -> str:
        """``tx_count 480 (normal 3..12, 9.1 spreads above)``."""
        side = "above" if self.value > self.normal_high else "below"
        return (
            f"{self.feature} {_num(self.value)} (normal {_num(self.normal_low)}.."
            f"{_num(self.normal_high)}, {self.spreads:.1f} spreads {side})"
        )


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 or not x.is_integer() else f"{int(x):,}"


@dataclass
class Verdict:
    """The model's view of one block."""

    height: int
    #: ``score_samples`` of the forest (lower is stranger).
    score: float
    #: The lowest score of a training block.
    threshold: float
    min_deviation: float
    #: Features at least one spread out of range, furthest first.
    deviations: list[Deviation]

    @property
    def anomalous(self) -> bool:
        """Far out, or stranger than all of history (see the module docs)."""
        far = bool(self.deviations) and self.deviations[0].spreads >= self.min_deviation
        return far or (self.score < self.threshold and bool(self.deviations))


class ActivityModel:
    """An isolation forest over :data:`FEATURES` with the ranges that explain its alerts."""

    def __init__(
        self,
        rows: list[dict[str, float]],
        *,
        min_deviation: float = 3.0,
        seed: int = 0,
    ) -> None:
        if len(rows) < MIN_TRAINING_BLOCKS:
            raise ValueError(
                f"the anomaly model needs a history of at least {MIN_TRAINING_BLOCKS} blocks, "
                f"got {len(rows)}"
            )
        x = _transform(rows)
        self.min_deviation = min_deviation
        self.blocks = len(rows)
        self.forest = IsolationForest(n_estimators=200, random_state=seed).fit(x)
        self.threshold = float(self.forest.score_samples(x).min())
        self._lo, self._hi = np.percentile(x, 1, axis=0), np.percentile(x, 99, axis=0)
        q1, q3 = np.percentile(x, 25, axis=0), np.percentile(x, 75, axis=0)
        self._spread = np.maximum(q3 - q1, MIN_SPREAD)
        raw = np.array([[r[f] for f in FEATURES] for r in rows], dtype=np.float64)
        self._raw_lo, self._raw_hi = np.percentile(raw, 1, axis=0), np.percentile(raw, 99, axis=0)

    def judge(self, height: int, row: dict[str, float]) -> Verdict:
        """Scores one block's features and explains what is out of range."""
        x = _transform([row])
        score = float(self.forest.score_samples(x)[0])
        out = []
        for i, f in enumerate(FEATURES):
            v = x[0, i]
            far = max(v - self._hi[i], self._lo[i] - v, 0.0) / self._spread[i]
            if far >= 1.0:
                out.append(
                    Deviation(f, row[f], float(self._raw_lo[i]), float(self._raw_hi[i]), float(far))
                )
        out.sort(key=lambda d: -d.spreads)
        return Verdict(height, score, self.threshold, self.min_deviation, out)


def _polite(read: Any, height: int) -> Any:
    """``read(height)``, waiting a second and asking again while the node answers that this
    client is over its rate limit (``rpc.requests_per_sec_per_ip``, -32005 "limit exceeded"):
    a long history is read at the pace the node allows. Other errors pass through."""
    for _ in range(60):
        try:
            return read(height)
        except BataraError as e:
            if not str(e).startswith("limit exceeded"):
                raise
            time.sleep(1.0)
    return read(height)


def train(
    source: BlockSource,
    blocks: int = 10_000,
    *,
    end: Optional[int] = None,
    min_deviation: float = 3.0,
    progress: Optional[bool] = None,
) -> tuple[ActivityModel, float, int]:
    """Trains on the ``blocks`` blocks of ``source`` that end at ``end`` (default: the head;
    height 1 at the earliest). Returns the model, the seconds it took (reads and fit) and the
    reads made. Prints progress to stderr every 1,000 blocks when reading more than 1,000
    (``progress=False`` silences it)."""
    t0 = time.monotonic()
    last = source.height if end is None else end
    heights = range(max(1, last - blocks + 1), last + 1)
    show = progress if progress is not None else len(heights) > 1000
    rows = []
    reads = 0
    for i, h in enumerate(heights, 1):
        blk = _polite(source.block, h)
        receipts = _polite(source.receipts, h) if blk["txs"] else []
        reads += 1 + bool(blk["txs"])
        rows.append(block_features(blk, receipts))
        if show and i % 1000 == 0:
            print(f"anomaly model: read {i}/{len(heights)} blocks", file=sys.stderr)
    model = ActivityModel(rows, min_deviation=min_deviation)
    return model, time.monotonic() - t0, reads
