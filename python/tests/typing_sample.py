"""Type-checked by mypy in test_cli_and_examples.py: the public API as a user writes it."""

from typing import Optional

import batara


def use() -> Optional[int]:
    with batara.Node.dev(accounts=2, mode="manual") as node:
        a: batara.Keypair = node.accounts[0]
        signed: batara.SignedTransaction = batara.Transaction.transfer(a.address, 1).sign(
            a, node.next_nonce(a.address), node.chain_id
        )
        tx_hash: str = node.submit(signed.raw)
        node.mine()
        receipt_status: str = node.wait(tx_hash)["receipt"]["status"]
        acct: batara.Account = node.account(a.address)
        balance: int = acct.balance
        client: batara.Client = batara.Client(node.rpc_url or "http://127.0.0.1:8545")
        del client, receipt_status
        try:
            node.submit(b"")
        except batara.TxRejected as e:
            reason: str = e.reason
            del reason
        return balance
