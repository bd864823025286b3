"""Python binding benchmarks (run by scripts/bench-bindings.sh on a release build).

1. Pre-signed transfers submitted with Node.submit_batch and committed, as `batara bench transfers`.
2. Per-call overhead of node.account(address).
3. Cold start: Node.dev() to its first block.
4. batara.analysis: a chain of TXS transfers loaded into DataFrames from the embedded Node and from a
   Client over loopback JSON-RPC (a ChainReader on a data directory takes the Node's read path).
"""

import shutil
import statistics
import tempfile
import sys
import time

import batara

SENDERS = 2_000
BATCH = 4_096


def submit_and_commit(node: batara.Node, raw: list[str]) -> float:
    """Submits the pre-signed transactions `raw` in batches (retrying those the pool had no room
    for) and waits until all are committed; returns the seconds it took."""
    stream = node.blocks()
    t0 = time.perf_counter()
    for i in range(0, len(raw), BATCH):
        pending = raw[i : i + BATCH]
        while pending:
            res = node.submit_batch(pending)
            pending = [
                tx for tx, r in zip(pending, res) if isinstance(r, batara.TxRejected) and r.reason in ("pool_full", "sender_full")
            ]
            bad = [r for r in res if isinstance(r, batara.TxRejected) and r.reason not in ("pool_full", "sender_full")]
            if bad:
                raise bad[0]
            if pending:
                time.sleep(0.002)
    committed = 0
    while committed < len(raw):
        committed += len(stream.next(timeout=120)["txs"])
    return time.perf_counter() - t0


def throughput(txs: int) -> float:
    # On disk, like `batara bench transfers` (which also fsyncs each block; dev nodes do not).
    data_dir = tempfile.mkdtemp(prefix="batara-bench-py-")
    node = batara.Node.dev(accounts=SENDERS, data_dir=data_dir, rpc_addr="127.0.0.1:0")
    keys = node.accounts
    chain = node.chain_id
    print(f"signing {txs} transfers...", file=sys.stderr)
    raw = [
        batara.Transaction.transfer(keys[(j + 1) % SENDERS].address, 1, 1)
        .sign(keys[j % SENDERS], j // SENDERS, chain)
        .raw
        for j in range(txs)
    ]
    dt = submit_and_commit(node, raw)
    analysis_load(node)
    node.stop()
    shutil.rmtree(data_dir, ignore_errors=True)
    return txs / dt


def analysis_load(node: batara.Node) -> None:
    import batara.analysis as ba

    assert node.rpc_url is not None
    for name, source in (("Node", node), ("Client", batara.Client(node.rpc_url))):
        t0 = time.perf_counter()
        tables = ba.load(source, progress=False)
        dt = time.perf_counter() - t0
        rows = len(tables.transactions)
        print(
            f"python analysis.load({name}): {len(tables.blocks)} blocks, {rows} txs, "
            f"{len(tables.accounts)} accounts in {dt:.2f} s ({rows / dt:,.0f} tx rows/s)"
        )


def account_overhead() -> float:
    with batara.Node.dev(accounts=1) as node:
        addr = node.accounts[0].address
        n = 200_000
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                node.account(addr)
            runs.append((time.perf_counter() - t0) / n * 1e6)
        return statistics.median(runs)


def cold_start() -> float:
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        node = batara.Node.dev(accounts=10, mode="manual")
        node.mine()
        runs.append((time.perf_counter() - t0) * 1e3)
        node.stop()
    return statistics.median(runs)


if __name__ == "__main__":
    tps = throughput(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
    print(f"python submit_batch: {tps:.0f} committed tx/s")
    print(f"python node.account(): {account_overhead():.2f} us/call")
    print(f"python Node.dev() to first block: {cold_start():.1f} ms")
