"""Batara: embed a proof-of-stake blockchain node, a dev chain, or a client in Python.

:class:`Node` (embedded) and :class:`Client` (JSON-RPC) share one surface: the same read and submit
methods with the same arguments, results and exception classes.

>>> import batara
>>> with batara.Node.dev(accounts=2) as node:
...     a, b = node.accounts
...     _ = node.transfer(a, b.address, 5)
...     node.account(b.address).balance > 5
True
"""

from batara import _surface  # noqa: F401 (attaches Node.header and ChainReader.header)
from batara._native import (
    BlockStream,
    ChainReader,
    Keypair,
    Node,
    SignedTransaction,
    __version__,
    address_of,
    dev_account,
    verify,
)
from batara.account import Account
from batara.aio import AsyncNode
from batara.client import Client
from batara.contracts import CallFailed, Contract, decode_events
from batara.exceptions import *  # noqa: F401,F403 (the exception classes)
from batara.exceptions import __all__ as _exceptions
from batara.tx import Transaction

__all__ = [
    "Account",
    "CallFailed",
    "Contract",
    "decode_events",
    "AsyncNode",
    "BlockStream",
    "ChainReader",
    "Client",
    "Keypair",
    "Node",
    "SignedTransaction",
    "Transaction",
    "__version__",
    "address_of",
    "dev_account",
    "verify",
    *_exceptions,
]
