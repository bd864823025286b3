"""Type-checked by mypy in test_cli_and_examples.py: the public API as a user writes it."""

from typing import Any, Optional, Union

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
        same: batara.Account = client.account(a.address)
        results: list[Union[str, batara.TxRejected]] = client.submit_batch([signed.raw])
        header: dict[str, Any] = node.header(1)
        del client, receipt_status, same, results, header
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


def surface(api: Union[batara.Node, batara.Client], key: batara.Keypair) -> int:
    """Code written once for both: the same methods, arguments and result types."""
    acct: batara.Account = api.account(key.address, 0)
    h: str = api.transfer(key, key.address, 1, fee=0, wait=True)
    info: dict[str, Any] = api.wait(h, timeout=5.0)
    out: list[Union[str, batara.TxRejected]] = api.submit_batch([])
    proof: dict[str, Any] = api.proof(key.address, None)
    root: str = api.header(api.height)["header"]["state_root"]
    del info, out, proof, root
    return acct.balance + api.next_nonce(key.address)


def read_home(home: str) -> int:
    with batara.ChainReader(home) as reader:
        head: int = reader.refresh()
        accounts: pd.DataFrame = ba.accounts(reader)
        return head + len(accounts)
