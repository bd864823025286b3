"""The security agent's anomaly model on a long history (the agents issue's figures):

1. A dev chain of BLOCKS blocks (default 10,000) of ordinary traffic: 3 to 10 transfers per block
   between 10 accounts, amounts of 10^3..10^6.
2. Training time of the model on all of it, read over JSON-RPC as the agent reads it (and, for
   comparison, from the embedded node).
3. False alerts on a further 1,000 normal blocks, judged one by one.
4. A flood (150 new accounts funded, then 150 tiny transfers from them): judged anomalous.
5. The agent's cost: RPC calls per block of SecurityAgent.check on a single node.

    PYTHONPATH=python python benches/agents.py [BLOCKS]
"""

import random
import sys
import tempfile
import time
from pathlib import Path

from batara import Client, Keypair, Node
from batara.agents import AlertBook, NodeTarget, SecurityAgent, SecurityConfig
from batara.agents.activity import block_features, train

BLOCKS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000


def normal_block(node: Node, rng: random.Random, keys: list[Keypair]) -> None:
    for _ in range(rng.randint(3, 10)):
        a, b = rng.sample(keys, 2)
        node.transfer(a, b.address, rng.randint(10**3, 10**6), wait=False)
    node.mine()


def main() -> None:
    rng = random.Random(1)
    with Node.dev(accounts=10, mode="manual", rpc_addr="127.0.0.1:0") as node:
        keys = node.accounts
        t0 = time.monotonic()
        for i in range(BLOCKS):
            normal_block(node, rng, keys)
            if (i + 1) % 1000 == 0:
                print(f"history: {i + 1}/{BLOCKS} blocks", file=sys.stderr)
        print(f"history of {BLOCKS} blocks built in {time.monotonic() - t0:.1f} s")
        assert node.rpc_url is not None
        client = Client(node.rpc_url)
        model, secs, reads = train(client, BLOCKS, progress=False)
        print(f"training on {BLOCKS} blocks over JSON-RPC: {secs:.1f} s ({reads} reads)")
        _, secs_local, _ = train(node, BLOCKS, progress=False)
        print(f"training on {BLOCKS} blocks from the embedded node: {secs_local:.1f} s")

        false = 0
        for _ in range(1000):
            normal_block(node, rng, keys)
            h = node.height
            v = model.judge(h, block_features(node.block(h), node.receipts(h)))
            false += v.anomalous
        print(f"false alerts on 1,000 normal blocks: {false} ({false / 10:.1f} %)")

        fresh = [Keypair.generate() for _ in range(150)]
        for k in fresh:
            node.transfer(keys[0], k.address, 10**9, wait=False)
        node.mine()
        for k in fresh:
            node.transfer(k, keys[1].address, 1, wait=False)
        node.mine()
        for h in (node.height - 1, node.height):
            v = model.judge(h, block_features(node.block(h), node.receipts(h)))
            print(f"flood block {h}: anomalous={v.anomalous}; " + "; ".join(
                d.describe() for d in v.deviations[:3]
            ))

        with tempfile.TemporaryDirectory() as tmp:
            book = AlertBook(Path(tmp) / "state.json", [])
            cfg = SecurityConfig(history_blocks=1000)
            agent = SecurityAgent([NodeTarget("dev", node.rpc_url)], cfg, book)
            for _ in range(10):  # trains, then reads the last evidence_blocks (not per-block cost)
                agent.check()
            before, h0 = agent.calls, node.height
            for _ in range(200):
                normal_block(node, rng, keys)
                agent.check()
            per_block = (agent.calls - before) / (node.height - h0)
            print(f"security agent: {per_block:.1f} RPC calls per block (one check per block, audit on)")


if __name__ == "__main__":
    main()
