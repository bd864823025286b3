"""Chain state as pandas DataFrames: blocks, transactions (with receipts), contract calls and
their events, accounts, validators.

Needs the ``analysis`` extra (``pip install './python[analysis]'``: pandas and pyarrow).

Every loader takes a *source*:

* a running :class:`batara.Node` (embedded),
* a :class:`batara.Client` (a remote node's JSON-RPC URL),
* a :class:`batara.ChainReader`, or the path of a node's home directory (``config.toml``,
  ``genesis.json``, ``data/``), opened read-only -- the node that owns it may keep running
  (a RocksDB secondary instance; the loader sees the blocks committed when it opened).

All three report the same shapes, so a notebook works unchanged against any of them.

>>> import batara, batara.analysis as ba
>>> with batara.Node.dev(accounts=2, mode="manual") as node:
...     a, b = node.accounts
...     _ = node.transfer(a, b.address, 5, fee=1, wait=False)
...     _ = node.mine()
...     df = ba.transactions(node)
...     (len(df), int(df.amount[0]), df.status[0])
(1, 5, 'success')

Columns (one row each):

* ``blocks``: height, hash, time (UTC), proposer, tx_count, failed_txs, fees, gas_used,
  state_root, parent.
* ``transactions``: height, index, hash, time, sender, nonce, kind, to, amount, fee, status,
  gas_used, error.
* ``contract_calls``: height, index, hash, time, sender, kind (``call`` or ``instantiate``),
  contract, method (``init`` for an instantiation), value, gas_limit, gas_used, status, error,
  output (the result as text: JSON by the calling convention).
* ``events`` (contract events of successful transactions): height, index (of the transaction),
  hash, time, contract, topic (the first), topics (all, as a JSON array), data (as text).
* ``accounts`` (latest state): address, balance, nonce, staked.
* ``validators``: address, pubkey, voting_power, stake, jailed, power_share.
* ``delegations`` (latest state, to the validators of the next block's set): delegator,
  validator, shares, amount, pending_rewards.
* ``proposals``: id, kind (text, params, upgrade, spend), title, proposer, status, expedited,
  submit_height, end_height, total_deposit, yes, no, abstain, veto, bonded (the final tally, or
  the live one while voting), result, deposits_burned.
* ``votes(source, proposal)``: proposal, voter, option, weight_ppm, power (the voter's bonded
  stake now), weighted_power (its part behind the option).

Amounts (balance, amount, fee, fees, stake, shares, pending_rewards, deposits, tallies, power) are exact: Python ints with ``backend="numpy"``
(the default; they exceed int64), or ``decimal128(38, 0)`` with ``backend="pyarrow"``.
Use ``df.fees.astype(float)`` for plots. Loading more than ``PROGRESS_BLOCKS`` blocks prints
progress (height, target, rate) to stderr unless ``progress=False``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Literal, NamedTuple, Optional, Protocol, Union

from batara._native import ChainReader, Node, address_of
from batara.client import Client
from batara.exceptions import InvalidInput

try:
    import pandas as pd
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "batara.analysis needs pandas and pyarrow: pip install 'batara[analysis]' "
        "(from a checkout: pip install './python[analysis]')"
    ) from e

__all__ = [
    "PROGRESS_BLOCKS",
    "Tables",
    "accounts",
    "blocks",
    "contract_calls",
    "delegations",
    "events",
    "load",
    "open_data_dir",
    "transactions",
    "validators",
]

Source = Union[Node, Client, ChainReader, str, "os.PathLike[str]"]
Backend = Literal["numpy", "pyarrow"]

#: Loading more blocks than this shows progress by default.
PROGRESS_BLOCKS = 5_000

_AMOUNTS = {
    "balance", "amount", "fee", "fees", "stake", "staked", "value", "shares", "pending_rewards",
    "total_deposit", "yes", "no", "abstain", "veto", "bonded", "power", "weighted_power",
}  # fmt: skip
_INTS = {
    "height", "tx_count", "failed_txs", "gas_used", "gas_limit", "index", "nonce", "voting_power",
    "id", "proposal", "submit_height", "end_height", "weight_ppm",
}  # fmt: skip
_TIMES = {"time"}
_BOOLS = {"jailed", "expedited", "deposits_burned"}

_BLOCK_COLUMNS = [
    "height", "hash", "time", "proposer", "tx_count", "failed_txs", "fees", "gas_used",
    "state_root", "parent",
]  # fmt: skip
_TX_COLUMNS = [
    "height", "index", "hash", "time", "sender", "nonce", "kind", "to", "amount", "fee",
    "status", "gas_used", "error",
]  # fmt: skip
_CALL_COLUMNS = [
    "height", "index", "hash", "time", "sender", "kind", "contract", "method", "value",
    "gas_limit", "gas_used", "status", "error", "output",
]  # fmt: skip
_EVENT_COLUMNS = ["height", "index", "hash", "time", "contract", "topic", "topics", "data"]
_ACCOUNT_COLUMNS = ["address", "balance", "nonce", "staked"]
_VALIDATOR_COLUMNS = ["address", "pubkey", "voting_power", "stake", "jailed", "power_share"]
_DELEGATION_COLUMNS = ["delegator", "validator", "shares", "amount", "pending_rewards"]
_PROPOSAL_COLUMNS = [
    "id", "kind", "title", "proposer", "status", "expedited", "submit_height", "end_height",
    "total_deposit", "yes", "no", "abstain", "veto", "bonded", "result", "deposits_burned",
]  # fmt: skip
_VOTE_COLUMNS = ["proposal", "voter", "option", "weight_ppm", "power", "weighted_power"]


class Tables(NamedTuple):
    """The four tables of :func:`load`."""

    blocks: pd.DataFrame
    transactions: pd.DataFrame
    accounts: pd.DataFrame
    validators: pd.DataFrame


def open_data_dir(home: Union[str, "os.PathLike[str]"]) -> ChainReader:
    """Opens a node home read-only (see :class:`batara.ChainReader`); close it when done."""
    return ChainReader(home)


@contextmanager
def _opened(source: Source) -> Iterator[Union[Node, Client, ChainReader]]:
    if isinstance(source, (Node, Client, ChainReader)):
        yield source
    elif isinstance(source, (str, os.PathLike)):
        with ChainReader(source) as reader:
            yield reader
    else:
        raise InvalidInput(
            f"source must be a Node, Client, ChainReader or a node home path, "
            f"not {type(source).__name__}"
        )


def _range(src: Union[Node, Client, ChainReader], start: int, end: Optional[int]) -> range:
    head = src.height
    last = head if end is None else end
    if start < 0 or last < start - 1:
        raise InvalidInput(f"bad block range {start}..{end}")
    if last > head:
        raise InvalidInput(f"end {last} is past the head ({head})")
    return range(start, last + 1)


def _progress_printer(total: int, enabled: Optional[bool]) -> Callable[[int, int], None]:
    if enabled is False or (enabled is None and total <= PROGRESS_BLOCKS):
        return lambda done, height: None
    began = time.monotonic()
    last = [0.0]

    def show(done: int, height: int) -> None:
        now = time.monotonic()
        if now - last[0] < 1.0 and done != total:
            return
        last[0] = now
        rate = done / max(now - began, 1e-9)
        end = "\n" if done == total else "\r"
        print(
            f"batara.analysis: block {height} ({done}/{total}, {rate:,.0f} blocks/s)",
            end=end,
            file=sys.stderr,
            flush=True,
        )

    return show


def _frame(rows: dict[str, list[Any]], backend: Backend) -> pd.DataFrame:
    if backend not in ("numpy", "pyarrow"):
        raise InvalidInput(f"backend must be 'numpy' or 'pyarrow', not {backend!r}")
    if backend == "pyarrow":
        return _arrow_frame(rows)
    cols: dict[str, Any] = {}
    for name, values in rows.items():
        if name in _TIMES:
            cols[name] = pd.to_datetime(pd.Series(values, dtype="int64"), unit="ms", utc=True)
        elif name in _INTS:
            cols[name] = pd.Series(values, dtype="int64")
        elif name in _AMOUNTS:
            cols[name] = pd.Series(values, dtype=object)
        elif name in _BOOLS:
            cols[name] = pd.Series(values, dtype=bool)
        else:
            nullable = name in ("error", "contract", "topic", "output")
            cols[name] = pd.Series(values, dtype=object if nullable else None)
    return pd.DataFrame(cols, columns=list(rows))


def _arrow_frame(rows: dict[str, list[Any]]) -> pd.DataFrame:
    import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no stubs

    def arrow_type(name: str) -> Any:
        if name in _TIMES:
            return pa.timestamp("ms", tz="UTC")
        if name in _INTS:
            return pa.int64()
        if name in _AMOUNTS:
            return pa.decimal128(38, 0)
        if name in _BOOLS:
            return pa.bool_()
        if name == "power_share":
            return pa.float64()
        return pa.string()

    arrays = {}
    for name, values in rows.items():
        try:
            arrays[name] = pa.array(values, type=arrow_type(name))
        except (pa.ArrowInvalid, OverflowError) as e:
            raise InvalidInput(f"column {name} does not fit {arrow_type(name)}: {e}") from e
    table = pa.table(arrays) if arrays else pa.table({n: pa.array([]) for n in rows})
    frame: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
    return frame


def _text(hex_bytes: str) -> str:
    """Bytes (0x-hex) as UTF-8 text, or the hex itself when they are not text."""
    raw = bytes.fromhex(hex_bytes.removeprefix("0x"))
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return hex_bytes


def _contract_rows(
    c: dict[str, list[Any]], e: dict[str, list[Any]], at: tuple[int, int, str, int, str],
    kind: dict[str, Any], rc: dict[str, Any],
) -> None:
    """The contract-call row of one transaction (if it is one) and its contract events."""
    h, i, hash_, when, sender = at
    events = rc["events"] if rc["status"] == "success" else []
    for ev in events:
        if ev["kind"] != "contract":
            continue
        attrs = dict(ev["attributes"])
        topics = [v for k, v in ev["attributes"] if k.startswith("topic")]
        for col, v in zip(_EVENT_COLUMNS, (h, i, hash_, when, attrs["contract"],
                                           topics[0] if topics else None, json.dumps(topics),
                                           _text(attrs.get("data", "0x")))):
            e[col].append(v)
    if kind["type"] not in ("call", "instantiate"):
        return
    if kind["type"] == "call":
        contract, method = kind["contract"], kind["method"]
    else:
        made = [dict(ev["attributes"]) for ev in events if ev["kind"] == "instantiate"]
        contract, method = (made[0]["contract"] if made else None), "init"
    row = (h, i, hash_, when, sender, kind["type"], contract, method, int(kind["value"]),
           int(kind["gas_limit"]), int(rc["gas_used"]), rc["status"], rc.get("error"),
           _text(rc["output"]) if rc.get("output") else None)
    for col, v in zip(_CALL_COLUMNS, row):
        c[col].append(v)


def _chain_rows(
    src: Union[Node, Client, ChainReader], heights: range, progress: Optional[bool]
) -> tuple[dict[str, list[Any]], dict[str, list[Any]], dict[str, list[Any]], dict[str, list[Any]]]:
    b: dict[str, list[Any]] = {c: [] for c in _BLOCK_COLUMNS}
    t: dict[str, list[Any]] = {c: [] for c in _TX_COLUMNS}
    c: dict[str, list[Any]] = {col: [] for col in _CALL_COLUMNS}
    e: dict[str, list[Any]] = {col: [] for col in _EVENT_COLUMNS}
    show = _progress_printer(len(heights), progress)
    senders: dict[str, str] = {}
    for done, h in enumerate(heights, 1):
        blk = src.block(h)
        receipts = src.receipts(h) if blk["txs"] else []
        hdr = blk["header"]
        when = int(hdr["time"])
        fees = gas = failed = 0
        for i, (tx, rc) in enumerate(zip(blk["txs"], receipts)):
            body, kind = tx["body"], tx["body"]["kind"]
            signer = body["signer"]
            sender = senders.get(signer)
            if sender is None:
                sender = senders[signer] = address_of(bytes.fromhex(signer[2:]))
            fee, used = int(rc["fee"]), int(rc["gas_used"])
            fees, gas = fees + fee, gas + used
            failed += rc["status"] != "success"
            t["height"].append(h)
            t["index"].append(i)
            t["hash"].append(tx["hash"])
            t["time"].append(when)
            t["sender"].append(sender)
            t["nonce"].append(int(body["nonce"]))
            t["kind"].append(kind["type"])
            t["to"].append(kind.get("to"))
            t["amount"].append(int(kind["amount"]) if "amount" in kind else None)
            t["fee"].append(fee)
            t["status"].append(rc["status"])
            t["gas_used"].append(used)
            t["error"].append(rc.get("error"))
            _contract_rows(c, e, (h, i, tx["hash"], when, sender), kind, rc)
        b["height"].append(h)
        b["hash"].append(blk["hash"])
        b["time"].append(when)
        b["proposer"].append(hdr["proposer"])
        b["tx_count"].append(len(blk["txs"]))
        b["failed_txs"].append(failed)
        b["fees"].append(fees)
        b["gas_used"].append(gas)
        b["state_root"].append(hdr["state_root"])
        b["parent"].append(hdr["parent"])
        show(done, h)
    return b, t, c, e


def _account_rows(src: Union[Node, Client, ChainReader]) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {c: [] for c in _ACCOUNT_COLUMNS}
    after: Optional[str] = None
    while True:
        page = src.account_page(after, 10_000)
        for a in page["accounts"]:
            rows["address"].append(a["address"])
            rows["balance"].append(int(a["balance"]))
            rows["nonce"].append(int(a["nonce"]))
            rows["staked"].append(int(a["staked"]))
        after = page["next"]
        if after is None:
            return rows


def _validator_rows(src: Union[Node, Client, ChainReader]) -> dict[str, list[Any]]:
    vals = src.validators()
    total = sum(int(v["voting_power"]) for v in vals) or 1
    return {
        "address": [v["address"] for v in vals],
        "pubkey": [v["pubkey"] for v in vals],
        "voting_power": [int(v["voting_power"]) for v in vals],
        "stake": [int(v["stake"]) for v in vals],
        "jailed": [bool(v["jailed"]) for v in vals],
        "power_share": [int(v["voting_power"]) / total for v in vals],
    }


def _delegation_rows(src: Union[Node, Client, ChainReader]) -> dict[str, list[Any]]:
    # Every validator that holds a delegation, not only those of the set: the set's, and every
    # one an account with stake delegates to (jailed, or outside the set). Each validator's own
    # list then gives its delegators, accounts or not (a genesis validator's self-bond has none).
    held = {v["address"] for v in src.validators()}
    after: Optional[str] = None
    while True:
        page = src.account_page(after, 10_000)
        for a in page["accounts"]:
            if int(a["staked"]) > 0:
                held.update(d["validator"] for d in src.delegations(a["address"])["delegations"])
        after = page["next"]
        if after is None:
            break
    found: list[dict[str, Any]] = []
    for v in sorted(held):
        after = None
        while True:
            page = src.delegators(v, after, 10_000)
            found.extend(page["delegations"])
            after = page["next"]
            if after is None:
                break
    found.sort(key=lambda d: (d["validator"], d["delegator"]))
    rows: dict[str, list[Any]] = {c: [] for c in _DELEGATION_COLUMNS}
    for d in found:
        for c in _DELEGATION_COLUMNS:
            rows[c].append(d[c] if c in ("delegator", "validator") else int(d[c]))
    return rows


def _proposal_rows(src: Union[Node, Client, ChainReader]) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {c: [] for c in _PROPOSAL_COLUMNS}
    after: Optional[int] = None
    while True:
        page = src.proposals(None, after, 1000)
        for p in page["proposals"]:
            tally = p["tally"]
            if tally is None and p["status"] == "voting_period":
                tally = src.proposal(int(p["id"]))["current_tally"]
            for c in ("id", "submit_height", "end_height"):
                rows[c].append(int(p[c]))
            rows["kind"].append(p["content"]["kind"])
            for c in ("title", "proposer", "status", "result"):
                rows[c].append(p[c])
            rows["expedited"].append(bool(p["expedited"]))
            rows["deposits_burned"].append(bool(p["deposits_burned"]))
            rows["total_deposit"].append(int(p["total_deposit"]))
            for c in ("yes", "no", "abstain", "veto", "bonded"):
                rows[c].append(0 if tally is None else int(tally[c]))
        if page["next"] is None:
            return rows
        after = int(page["next"])


def _vote_rows(src: Union[Node, Client, ChainReader], proposal: int) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {c: [] for c in _VOTE_COLUMNS}
    after: Optional[str] = None
    while True:
        page = src.votes(proposal, after, 10_000)
        for v in page["votes"]:
            power = int(v["power"])
            for o in v["options"]:
                rows["proposal"].append(proposal)
                rows["voter"].append(v["voter"])
                rows["option"].append(o["option"])
                rows["weight_ppm"].append(int(o["weight_ppm"]))
                rows["power"].append(power)
                rows["weighted_power"].append(power * int(o["weight_ppm"]) // 1_000_000)
        after = page["next"]
        if after is None:
            return rows


class _BlockTable(Protocol):
    def __call__(
        self,
        source: Source,
        start: int = 0,
        end: Optional[int] = None,
        *,
        backend: Backend = "numpy",
        progress: Optional[bool] = None,
    ) -> pd.DataFrame: ...


def _block_table(name: str, which: int, doc: str) -> _BlockTable:
    """A loader of table ``which`` of :func:`_chain_rows` over blocks ``start..=end`` (default:
    to the head)."""

    def table(
        source: Source,
        start: int = 0,
        end: Optional[int] = None,
        *,
        backend: Backend = "numpy",
        progress: Optional[bool] = None,
    ) -> pd.DataFrame:
        with _opened(source) as src:
            rows = _chain_rows(src, _range(src, start, end), progress)[which]
        return _frame(rows, backend)

    table.__name__ = table.__qualname__ = name
    table.__doc__ = doc
    return table


blocks = _block_table("blocks", 0, "One row per block from ``start`` to ``end`` (inclusive).")
transactions = _block_table(
    "transactions", 1, "One row per committed transaction in blocks ``start..=end``, with its receipt."
)
contract_calls = _block_table(
    "contract_calls", 2,
    "One row per contract call or instantiation in blocks ``start..=end``, with its receipt.",
)  # fmt: skip
events = _block_table(
    "events", 3, "One row per contract event of the successful transactions in ``start..=end``."
)


def accounts(source: Source, *, backend: Backend = "numpy") -> pd.DataFrame:
    """Every account of the latest state, in address order."""
    with _opened(source) as src:
        rows = _account_rows(src)
    return _frame(rows, backend)


def validators(source: Source, *, backend: Backend = "numpy") -> pd.DataFrame:
    """The validator set with each one's share of voting power."""
    with _opened(source) as src:
        rows = _validator_rows(src)
    return _frame(rows, backend)


def delegations(source: Source, *, backend: Backend = "numpy") -> pd.DataFrame:
    """Every delegation worth something (latest state) — to any validator, in the set or not,
    jailed or not — sorted by validator and then delegator address, with what it is worth and
    its pending rewards."""
    with _opened(source) as src:
        rows = _delegation_rows(src)
    return _frame(rows, backend)


def proposals(source: Source, *, backend: Backend = "numpy") -> pd.DataFrame:
    """Every governance proposal by id: its kind, status and result, deposit, and tally (the
    final one; the live one while it is voted on; zeros before)."""
    with _opened(source) as src:
        rows = _proposal_rows(src)
    return _frame(rows, backend)


def votes(source: Source, proposal: int, *, backend: Backend = "numpy") -> pd.DataFrame:
    """One row per option of every vote on ``proposal`` (a split vote has several), with the
    voter's bonded stake now and the part of it behind that option."""
    with _opened(source) as src:
        rows = _vote_rows(src, proposal)
    return _frame(rows, backend)


def load(
    source: Source,
    start: int = 0,
    end: Optional[int] = None,
    *,
    backend: Backend = "numpy",
    progress: Optional[bool] = None,
) -> Tables:
    """All four tables; blocks are read once for both block tables. Accounts and validators are
    the latest state when they are read (a running node may have moved past ``end``)."""
    with _opened(source) as src:
        heights = _range(src, start, end)
        b, t, _, _ = _chain_rows(src, heights, progress)
        a = _account_rows(src)
        v = _validator_rows(src)
    return Tables(_frame(b, backend), _frame(t, backend), _frame(a, backend), _frame(v, backend))
