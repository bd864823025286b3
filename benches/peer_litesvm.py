"""The same workload on LiteSVM (solders, from PyPI) and on Batara through its Python binding,
side by side (run by scripts/bench-peer.sh, which makes a throwaway venv with solders).

Workload: TXS transfers pre-signed before the clock starts, from 100 senders to one receiver,
then 10,000 balance reads of the senders. Each figure is the median of RUNS runs.

What each side does per transfer differs, and the output says so: LiteSVM executes each
transaction on the spot (signature checked, no blocks, no state root, nothing on disk); Batara
admits it to its mempool (signature checked in batches), puts it in a block, executes it,
computes the block's state root and keeps blocks, receipts and the index (a dev node in
instant mode; RocksDB under a temporary directory, no fsync). A read is LiteSVM's
`get_balance(pubkey)` and Batara's `node.account(address).balance`.
"""

import shutil
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


def batara_run(txs: int) -> tuple[float, float]:
    """(committed transfers/s, reads/s) of one Batara run."""
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
            return txs / sent, reads_per_s(lambda i: node.account(addrs[i % SENDERS]).balance)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def reads_per_s(read: Callable[[int], int]) -> float:
    t0 = time.perf_counter()
    for i in range(READS):
        read(i)
    return READS / (time.perf_counter() - t0)


def median_of(run: Callable[[int], tuple[float, float]], txs: int, name: str) -> tuple[float, float]:
    runs = []
    for k in range(RUNS):
        print(f"{name}: run {k + 1} of {RUNS}...", file=sys.stderr)
        runs.append(run(txs))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    txs = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    lite_tx, lite_reads = median_of(litesvm_run, txs, "LiteSVM")
    bat_tx, bat_reads = median_of(batara_run, txs, "Batara")
    print(f"{txs} pre-signed transfers from {SENDERS} senders, then {READS} balance reads; median of {RUNS} runs")
    print(f"{'':28}{'LiteSVM':>14}{'Batara':>14}{'Batara/LiteSVM':>16}")
    print(f"{'transfers/s':28}{lite_tx:>14,.0f}{bat_tx:>14,.0f}{bat_tx / lite_tx:>16.2f}")
    print(f"{'balance reads/s':28}{lite_reads:>14,.0f}{bat_reads:>14,.0f}{bat_reads / lite_reads:>16.2f}")
    print("LiteSVM: executed one by one, no blocks, no state root, nothing on disk.")
    print("Batara: mempool, batch signature checks, blocks, state root, receipts, RocksDB.")


if __name__ == "__main__":
    main()
