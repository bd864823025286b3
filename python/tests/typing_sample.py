"""Type-checked by mypy in test_cli_and_examples.py: the public API as a user writes it."""

from typing import Any, Optional

import pandas as pd

import batara
import batara.analysis as ba


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
        receipts: list[dict[str, Any]] = node.receipts(1)
        page_next: Optional[str] = node.account_page(limit=5)["next"]
        blocks_df: pd.DataFrame = ba.blocks(node, 0, 1, backend="pyarrow")
        tables: ba.Tables = ba.load(node)
        del receipts, page_next, blocks_df, tables
        try:
            node.submit(b"")
        except batara.TxRejected as e:
            reason: str = e.reason
            del reason
        return balance


def read_home(home: str) -> int:
    with batara.ChainReader(home) as reader:
        head: int = reader.refresh()
        accounts: pd.DataFrame = ba.accounts(reader)
        return head + len(accounts)
