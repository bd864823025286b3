"""batara.analysis: DataFrames from a Node, a Client, and a running node's home opened read-only;
the Jupyter example executed by nbclient."""

import contextlib
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

import batara
import batara.analysis as ba

ROOT = Path(__file__).resolve().parents[2]
DEV_BALANCE = 10**24


def build_chain(node: batara.Node, blocks: int, seed: int) -> int:
    """Random transfers among the dev accounts over `blocks` blocks; returns the tx count."""
    rng = random.Random(seed)
    keys = node.accounts
    sent = 0
    for _ in range(blocks):
        for _ in range(rng.randrange(0, 6)):
            a, b = rng.sample(keys, 2)
            node.transfer(a, b.address, rng.randrange(1, 10**6), fee=rng.randrange(0, 5), wait=False)
            sent += 1
        node.mine()
    return sent


@pytest.fixture
def chain() -> Iterator[tuple[batara.Node, int]]:
    with batara.Node.dev(accounts=6, mode="manual", rpc_addr="127.0.0.1:0") as node:
        yield node, build_chain(node, 12, seed=7)


def test_tables_from_a_node(chain: tuple[batara.Node, int]) -> None:
    node, sent = chain
    t = ba.load(node)
    assert list(t.blocks.height) == list(range(node.height + 1))
    assert t.blocks.tx_count.sum() == sent == len(t.transactions)
    assert isinstance(t.blocks.time.dtype, pd.DatetimeTZDtype)
    assert str(t.blocks.time.dtype.tz) == "UTC"
    assert t.blocks.time.is_monotonic_increasing
    # Every row agrees with the node's own view of that transaction.
    for row in t.transactions.sample(5, random_state=1).itertuples():
        info = node.transaction(row.hash)
        assert int(info["height"]) == row.height and info["index"] == row.index
        assert int(info["receipt"]["fee"]) == row.fee
        assert info["tx"]["body"]["kind"]["to"] == row.to
        signer = bytes.fromhex(info["tx"]["body"]["signer"][2:])
        assert batara.address_of(signer) == row.sender
    # Fees per block add up; amounts are exact ints beyond int64.
    per_block = t.transactions.groupby("height").fee.sum()
    for h, fees in per_block.items():
        assert t.blocks.fees[h] == fees
    assert set(t.transactions.status) == {"success"}
    # Supply is conserved: fees moved to the validator's delegators (rewards not yet withdrawn)
    # and the community pool, nothing created or lost.
    pool = node.community_pool()
    held = int(pool["amount"]) + int(pool["outstanding_rewards"])
    assert held == t.blocks.fees.sum() > 0
    assert t.accounts.balance.sum() + held == 6 * DEV_BALANCE
    assert t.accounts.balance.max() > 2**63
    for acct in t.accounts.itertuples():
        assert node.account(acct.address).balance == acct.balance
        assert node.account(acct.address).nonce == acct.nonce
    assert list(t.validators.power_share) == [1.0]
    assert t.validators.address[0] == t.blocks.proposer[1]
    # Ranges.
    part = ba.blocks(node, 3, 5)
    assert list(part.height) == [3, 4, 5]
    assert part.reset_index(drop=True).equals(t.blocks.iloc[3:6].reset_index(drop=True))


def test_client_gives_the_same_tables(chain: tuple[batara.Node, int]) -> None:
    node, _ = chain
    assert node.rpc_url is not None
    client = batara.Client(node.rpc_url)
    for a, b in zip(ba.load(node), ba.load(client)):
        pd.testing.assert_frame_equal(a, b)


def test_pyarrow_backend_is_exact(chain: tuple[batara.Node, int]) -> None:
    node, _ = chain
    acc = ba.accounts(node, backend="pyarrow")
    assert str(acc.balance.dtype) == "decimal128(38, 0)[pyarrow]"
    pool = node.community_pool()
    held = int(pool["amount"]) + int(pool["outstanding_rewards"])
    assert sum(int(x) for x in acc.balance) + held == 6 * DEV_BALANCE
    txs = ba.transactions(node, backend="pyarrow")
    numpy_txs = ba.transactions(node)
    assert [int(x) for x in txs.amount] == list(numpy_txs.amount)
    assert str(txs.time.dtype).startswith("timestamp[ms, tz=UTC]")


def test_bad_arguments_are_clear_errors(chain: tuple[batara.Node, int], tmp_path: Path) -> None:
    node, _ = chain
    with pytest.raises(batara.InvalidInput, match="past the head"):
        ba.blocks(node, 0, node.height + 1)
    with pytest.raises(batara.InvalidInput, match="bad block range"):
        ba.blocks(node, -1)
    with pytest.raises(batara.InvalidInput, match="backend"):
        ba.blocks(node, backend="polars")  # type: ignore[arg-type]
    with pytest.raises(batara.InvalidInput, match="source must be"):
        ba.blocks(42)  # type: ignore[arg-type]
    with pytest.raises(batara.BataraError):
        ba.blocks(tmp_path / "no-such-home")
    with pytest.raises(batara.InvalidInput):
        node.account_page(limit=0)
    assert ba.blocks(node, 4, 3).empty


@contextlib.contextmanager
def dev_process(home: Path, accounts: int) -> Iterator[str]:
    """A `batara dev --manual` process with its home at `home`; yields its JSON-RPC URL and checks
    it exits cleanly on SIGTERM."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "batara", "dev", "--home", str(home), "--manual",
         "--rpc-addr", "127.0.0.1:0", "--accounts", str(accounts)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = None
        for line in proc.stdout:
            m = re.match(r"JSON-RPC\s+(http://\S+)", line)
            if m:
                url = m.group(1)
                break
        assert url, "the dev node printed its RPC URL"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == 0


def test_data_dir_of_a_running_node_read_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with dev_process(home, 4) as url:
        client = batara.Client(url)
        keys = [batara.Keypair.from_file(home / "accounts" / f"account{i}.json") for i in range(4)]
        for i in range(5):
            client.transfer(keys[i % 4], keys[(i + 1) % 4].address, 1000 + i, wait=False)
            client.mine()
        # While the node runs: the home opened read-only gives what the node serves.
        with batara.ChainReader(home) as reader:
            assert reader.height == client.height == 5
            assert reader.header(3) == client.header(3)
            from_dir = ba.load(reader)
            from_rpc = ba.load(client)
            for a, b in zip(from_dir, from_rpc):
                pd.testing.assert_frame_equal(a, b)
            # The node keeps committing; the reader catches up on refresh().
            client.transfer(keys[0], keys[1].address, 7, wait=False)
            client.mine(2)
            assert reader.height == 5
            assert reader.refresh() == 7
            assert len(ba.transactions(reader)) == 6
        # A path works as a source too, and leaves the node running and writable.
        assert len(ba.blocks(home)) == 8
        client.mine()
        assert client.height == 8


def test_progress_is_shown_for_long_loads(
    chain: tuple[batara.Node, int], capsys: pytest.CaptureFixture[str]
) -> None:
    node, _ = chain
    ba.blocks(node, progress=True)
    err = capsys.readouterr().err
    assert f"block {node.height} ({node.height + 1}/{node.height + 1}" in err
    ba.blocks(node)
    assert capsys.readouterr().err == ""


def test_jupyter_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel is a child process: let it import this checkout's batara (or the installed one).
    package_root = str(Path(batara.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    path = ROOT / "examples" / "jupyter" / "chain_analysis.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, "the notebook plots transactions per block"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    m = re.search(r"(\d+) transactions in (\d+) blocks", text)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) > 1


def test_governance_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package_root = str(Path(batara.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(ROOT / "examples" / "jupyter" / "governance.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert [o for o in outputs if "image/png" in o.get("data", {})], "the notebook plots the tally"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    # 15 coins delegated (1+2+...+5) beside the validator's 1: yes 1+0.6·3+5, no 2+0.4·3, abstain 4.
    assert re.search(r"proposal \d+ passed: passed: ", text), text
    assert "'yes': 7.8" in text and "'no': 3.2" in text and "'abstain': 4.0" in text, text


READER_CLOSE_RACE = r"""
import sys, threading, time
import batara

reader = batara.ChainReader(sys.argv[1])
calls = 0

def refresh_until_closed():
    global calls
    while True:
        try:
            reader.refresh()
            reader.block()
            calls += 1
        except batara.BataraError:
            return  # closed

threads = [threading.Thread(target=refresh_until_closed) for _ in range(3)]
for t in threads:
    t.start()
time.sleep(0.3)
reader.close()  # while refreshes run with the GIL released
for t in threads:
    t.join(10)
assert not any(t.is_alive() for t in threads), "a refresh never finished"
assert calls > 0
try:
    reader.refresh()
except batara.BataraError as e:
    assert "closed" in str(e)
else:
    raise AssertionError("refresh after close")
print("ok", calls)
"""


def test_reader_close_while_refreshing_does_not_deadlock(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with dev_process(home, 2):
        # In a child process: a deadlock holds the GIL, so only a process timeout can end it.
        env = dict(os.environ, PYTHONPATH=str(Path(batara.__file__).resolve().parents[1]))
        out = subprocess.run(
            [sys.executable, "-c", READER_CLOSE_RACE, str(home)],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("ok ")


def test_delegations_table(chain: tuple[batara.Node, int]) -> None:
    node, _ = chain
    (v,) = node.validators()
    keys = node.accounts
    for i, k in enumerate(keys[:3]):
        tx = batara.Transaction.delegate(v["address"], (i + 1) * 10**18, fee=1)
        node.submit(tx.sign(k, node.next_nonce(k.address), node.chain_id).raw)
    node.mine()
    node.transfer(keys[4], keys[5].address, 1, fee=1_000_000, wait=False)
    node.mine()
    # A validator registered after this epoch's set was chosen is outside the set; its
    # operator's delegation is in the table all the same.
    outsider, op = batara.Keypair.generate(), keys[3]
    tx = batara.Transaction.stake(outsider.public_key, 2 * 10**18, fee=1)
    node.submit(tx.sign(op, node.next_nonce(op.address), node.chain_id).raw)
    node.mine()
    assert outsider.address not in {x["address"] for x in node.validators()}
    for backend in ("numpy", "pyarrow"):
        df = ba.delegations(node, backend=backend)
        assert list(df.columns) == ["delegator", "validator", "shares", "amount", "pending_rewards"]
        assert set(df.delegator) == {v["address"], op.address} | {k.address for k in keys[:3]}
        assert set(df.validator) == {v["address"], outsider.address}
        theirs = df[df.validator == outsider.address]
        assert (list(theirs.delegator), int(theirs.amount.iloc[0])) == ([op.address], 2 * 10**18)
        mine = df[df.delegator == keys[2].address]
        assert int(mine.amount.iloc[0]) == 3 * 10**18
        # Everything pending is what the node reports, and it is what the fees left after tax.
        assert sum(int(x) for x in df.pending_rewards) == sum(
            int(node.rewards(d)["total"]) for d in df.delegator
        )
    client = batara.Client(node.rpc_url)
    assert ba.delegations(client).equals(ba.delegations(node))


def test_proposals_and_votes_tables(chain: tuple[batara.Node, int]) -> None:
    node, _ = chain
    (v,) = node.validators()
    keys = node.accounts
    coin = 10**18

    def send(k: batara.Keypair, tx: batara.Transaction) -> None:
        node.submit(tx.sign(k, node.next_nonce(k.address), node.chain_id).raw)

    send(keys[0], batara.Transaction.delegate(v["address"], 3 * coin, fee=1))
    send(keys[1], batara.Transaction.delegate(v["address"], coin, fee=1))
    node.mine()
    deposit = int(node.gov_params()["min_deposit"])
    send(keys[2], batara.Transaction.propose("signal", {"kind": "text"}, deposit))
    send(keys[2], batara.Transaction.propose("waiting", {"kind": "text"}, deposit // 2))
    node.mine()
    first = int(node.proposals(status="voting_period")["proposals"][-1]["id"])
    send(keys[0], batara.Transaction.vote(first, {"yes": 0.75, "abstain": 0.25}))
    send(keys[1], batara.Transaction.vote(first, "no"))
    node.mine()
    for backend in ("numpy", "pyarrow"):
        votes = ba.votes(node, first, backend=backend)
        assert list(votes.columns) == ["proposal", "voter", "option", "weight_ppm", "power", "weighted_power"]
        assert len(votes) == 3, "a split vote is one row per option"
        by = {(r.voter, r.option): int(r.weighted_power) for r in votes.itertuples()}
        assert by[(keys[0].address, "yes")] == 9 * coin // 4
        assert by[(keys[1].address, "no")] == coin
        props = ba.proposals(node, backend=backend)
        row = props[props.id == first].iloc[0]
        assert (row.kind, row.status) == ("text", "voting_period")
        # The live tally while voting matches the votes table's weighted power.
        assert int(row.yes) == by[(keys[0].address, "yes")] and int(row.no) == coin
        waiting = props[props.title == "waiting"].iloc[0]
        assert waiting.status == "deposit_period" and int(waiting.yes) == 0
    node.skip_to(voting_end=first)
    node.mine()
    props = ba.proposals(node)
    row = props[props.id == first].iloc[0]
    assert row.status == "passed" and row.end_height == node.height and not row.deposits_burned
    client = batara.Client(node.rpc_url)
    assert ba.proposals(client).equals(props)
    assert ba.votes(client, first).equals(ba.votes(node, first))
