"""The same workload on LiteSVM (solders, from PyPI) and on Batara through its Python binding,
side by side (run by scripts/bench-peer.sh, which makes a throwaway venv with solders).

Workload: TXS transfers pre-signed before the clock starts, from 100 senders to one receiver,
then 10,000 balance reads of the senders. Each figure is the median of RUNS runs.

What each side does per transfer differs, and the output says so: LiteSVM executes each
transaction on the spot (signature checked, no blocks, no state root, nothing on disk); Batara
admits it to its mempool (signature checked in batches), puts it in a block, executes it,
computes the block's state root and keeps blocks, receipts and the index (a dev node in
instant mode; RocksDB under a temporary directory, no fsync). A read is LiteSVM's
`get_balance(pubkey)` and Batara's `node.balance(address)` (an address string, parsed each
call); a bulk read is `node.balances(addresses)` of all 100 senders per call (LiteSVM has none:
its figure is the one-per-call one). With PEER_READS_JS set (scripts/bench-peer.sh), the same
reads from Node.js: `node.balanceSync(address)` and `await node.balances(addresses)`
(benches/peer_reads.mjs).
"""

import json
import os
import shutil
import subprocess
import statistics
import sys
import tempfile
import time
from typing import Callable

import batara
from bindings import submit_and_commit
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

SENDERS = 100
READS = 10_000
RUNS = 3


def litesvm_run(txs: int) -> tuple[float, float]:
    """(transfers/s, reads/s) of one LiteSVM run."""
    svm = LiteSVM()
    payers = [Keypair() for _ in range(SENDERS)]
    for p in payers:
        svm.airdrop(p.pubkey(), 10**12)
    to = Keypair().pubkey()
    svm.airdrop(to, 10**9)  # a new account must hold its rent-exempt minimum
    blockhash = svm.latest_blockhash()
    # Distinct amounts keep every signature distinct (LiteSVM refuses a repeated transaction).
    signed = [
        VersionedTransaction(
            Message.new_with_blockhash(
                [transfer(TransferParams(from_pubkey=p.pubkey(), to_pubkey=to, lamports=1 + j))],
                p.pubkey(),
                blockhash,
            ),
            [p],
        )
        for j, p in ((j, payers[j % SENDERS]) for j in range(txs))
    ]
    t0 = time.perf_counter()
    for tx in signed:
        r = svm.send_transaction(tx)
        if isinstance(r, FailedTransactionMetadata):
            raise RuntimeError(f"LiteSVM refused a transfer: {r}")
    sent = time.perf_counter() - t0
    assert svm.get_balance(to) == 10**9 + sum(range(1, txs + 1)), "every transfer landed"
    keys = [p.pubkey() for p in payers]
    return txs / sent, reads_per_s(lambda i: svm.get_balance(keys[i % SENDERS]))


def batara_run(txs: int) -> tuple[float, float, float]:
    """(committed transfers/s, reads/s, bulk reads/s) of one Batara run."""
    data_dir = tempfile.mkdtemp(prefix="batara-bench-peer-")
    try:
        with batara.Node.dev(accounts=SENDERS + 1, data_dir=data_dir) as node:
            keys, chain = node.accounts, node.chain_id
            to = keys[SENDERS].address
            before = node.account(to).balance
            raw = [
                batara.Transaction.transfer(to, 1 + j).sign(keys[j % SENDERS], j // SENDERS, chain).raw
                for j in range(txs)
            ]
            sent = submit_and_commit(node, raw)
            assert node.account(to).balance == before + sum(range(1, txs + 1)), "every transfer landed"
            addrs = [k.address for k in keys[:SENDERS]]
            assert node.balances(addrs) == [node.account(a).balance for a in addrs]
            one = reads_per_s(lambda i: node.balance(addrs[i % SENDERS]))
            t0 = time.perf_counter()
            for _ in range(READS // SENDERS):
                node.balances(addrs)
            return txs / sent, one, READS / (time.perf_counter() - t0)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def reads_per_s(read: Callable[[int], int]) -> float:
    t0 = time.perf_counter()
    for i in range(READS):
        read(i)
    return READS / (time.perf_counter() - t0)


def median_of(run: Callable[[int], tuple[float, ...]], txs: int, name: str) -> list[float]:
    """The median of RUNS runs, figure by figure."""
    runs = []
    for k in range(RUNS):
        print(f"{name}: run {k + 1} of {RUNS}...", file=sys.stderr)
        runs.append(run(txs))
    return [statistics.median(figures) for figures in zip(*runs)]


def node_js_reads() -> dict[str, float]:
    """{"one", "bulk"} reads/s from Node.js (benches/peer_reads.mjs), or {} without PEER_READS_JS."""
    script = os.environ.get("PEER_READS_JS")
    if not script:
        return {}
    print("Batara from Node.js...", file=sys.stderr)
    out = subprocess.run(
        ["node", script, str(READS), str(SENDERS), str(RUNS)], check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    txs = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    lite_tx, lite_reads = median_of(litesvm_run, txs, "LiteSVM")
    bat_tx, bat_reads, bat_bulk = median_of(batara_run, txs, "Batara")
    js = node_js_reads()
    print(f"{txs} pre-signed transfers from {SENDERS} senders, then {READS} balance reads; median of {RUNS} runs")
    print(f"{'':36}{'LiteSVM':>14}{'Batara':>14}{'Batara/LiteSVM':>16}")

    def row(name: str, lite: float, bat: float) -> None:
        print(f"{name:36}{lite:>14,.0f}{bat:>14,.0f}{bat / lite:>16.2f}")

    row("transfers/s", lite_tx, bat_tx)
    row("balance reads/s, Python", lite_reads, bat_reads)
    row(f"  {SENDERS} per call (balances)", lite_reads, bat_bulk)
    if js:
        row("balance reads/s, Node.js (sync)", lite_reads, js["one"])
        row(f"  {SENDERS} per call (await balances)", lite_reads, js["bulk"])
    print("LiteSVM: executed one by one, no blocks, no state root, nothing on disk.")
    print("Batara: mempool, batch signature checks, blocks, state root, receipts, RocksDB.")


if __name__ == "__main__":
    main()
