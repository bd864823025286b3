"""Batara: embed a proof-of-stake blockchain node, a dev chain, or a client in Python.

>>> import batara
>>> with batara.Node.dev(accounts=2) as node:
...     a, b = node.accounts
...     _ = node.transfer(a, b.address, 5)
...     node.account(b.address).balance > 5
True
"""

from batara._native import (
    Account,
    BlockStream,
    Keypair,
    Node,
    SignedTransaction,
    Transaction,
    __version__,
    address_of,
    dev_account,
    verify,
)
from batara.aio import AsyncNode
from batara.client import Client
from batara.exceptions import (
    BataraError,
    ConfigError,
    InvalidInput,
    NodeStopped,
    NotDevChain,
    NotFound,
    StorageError,
    Timeout,
    TxRejected,
)

__all__ = [
    "Account",
    "AsyncNode",
    "BataraError",
    "BlockStream",
    "Client",
    "ConfigError",
    "InvalidInput",
    "Keypair",
    "Node",
    "NodeStopped",
    "NotDevChain",
    "NotFound",
    "SignedTransaction",
    "StorageError",
    "Timeout",
    "Transaction",
    "TxRejected",
    "__version__",
    "address_of",
    "dev_account",
    "verify",
]
