"""Batara from Python: a dev chain in memory, a transfer, balances, a block."""

import batara

with batara.Node.dev(accounts=2) as node:
    alice, bob = node.accounts
    tx_hash = node.transfer(alice, bob.address, 1_000, fee=1)  # waits for the block
    receipt = node.transaction(tx_hash)["receipt"]
    print(f"transfer {tx_hash}: {receipt['status']}, fee {receipt['fee']}")
    print(f"bob has {node.account(bob.address).balance}")
    print(f"head is block {node.height}")
