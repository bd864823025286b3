"""A client for a remote Batara node's JSON-RPC API (standard library only).

It offers the read and submit methods of :class:`batara.Node` against a URL such as
``http://127.0.0.1:8545``. JSON-RPC errors become the same exception classes as the embedded node
raises (``TxRejected`` with its ``reason``, ``NotFound``, ``InvalidInput``, ...).
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from typing import Any, Optional, Union

from batara._native import Keypair, error_table
from batara.exceptions import BataraError, NotFound, Timeout, TxRejected
from batara.tx import Transaction

def _rpc_exceptions() -> dict[int, type[BataraError]]:
    """JSON-RPC error code → exception class, from the node's one error table (a code shared by
    several kinds, the standard -32603, is the base class)."""
    from batara import exceptions

    classes: dict[int, type[BataraError]] = {}
    for row in error_table():
        code = int(row["rpc_code"])
        classes[code] = BataraError if code in classes else getattr(exceptions, row["python"])
    return classes


_CODES = _rpc_exceptions()


class Client:
    """JSON-RPC client of a Batara node."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        """Calls a JSON-RPC method with positional params; returns its result."""
        body = json.dumps(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        ).encode()
        req = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as e:
            body = e.read()
        except (urllib.error.URLError, OSError) as e:
            raise BataraError(f"cannot reach node at {self.url}: {e}") from e
        try:
            reply = json.loads(body)
        except ValueError as e:
            raise BataraError(f"node at {self.url} answered without JSON-RPC: {e}") from e
        if not isinstance(reply, dict) or ("error" not in reply and "result" not in reply):
            raise BataraError(f"node at {self.url} sent a malformed JSON-RPC reply: {body[:200]!r}")
        if "error" in reply:
            err = reply["error"]
            cls = _CODES.get(err.get("code"), BataraError)
            exc = cls(err.get("message", "unknown error"))
            if isinstance(exc, TxRejected):
                exc.reason = str((err.get("data") or {}).get("reason", ""))
            raise exc
        return reply["result"]

    @property
    def chain_id(self) -> str:
        """The node's chain id."""
        return str(self.info()["chain_id"])

    @property
    def height(self) -> int:
        """The head height."""
        return int(self.info()["height"])

    def info(self) -> dict[str, Any]:
        """Node status."""
        return dict(self.call("node_info"))

    def submit(self, tx: Union[bytes, Any], wait: bool = False, timeout: float = 60.0) -> str:
        """Submits signed transaction bytes; returns the hash (after the commit with ``wait``)."""
        raw = bytes(tx)
        h = str(self.call("tx_submit", "0x" + raw.hex()))
        if wait:
            self.wait(h, timeout)
        return h

    def wait(self, tx_hash: str, timeout: float = 60.0) -> dict[str, Any]:
        """Polls until the transaction is committed; returns it with its receipt."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return dict(self.call("chain_getTransaction", tx_hash))
            except NotFound:
                if time.monotonic() >= deadline:
                    raise Timeout(f"transaction {tx_hash} not committed within {timeout} s") from None
                time.sleep(0.02)

    def next_nonce(self, address: str) -> int:
        """The next nonce of ``address``, counting pending transactions."""
        return int(self.call("tx_nextNonce", address))

    def transfer(
        self, keypair: Keypair, to: str, amount: int, fee: int = 0, wait: bool = True
    ) -> str:
        """Builds, signs (next nonce) and submits a transfer."""
        signed = Transaction.transfer(to, amount, fee).sign(
            keypair, self.next_nonce(keypair.address), self.chain_id
        )
        return self.submit(signed.raw, wait=wait)

    def account(self, address: str, height: Optional[int] = None) -> dict[str, Any]:
        """Balance, nonce and staked amount (ints)."""
        a = self.call("state_getAccount", address, height)
        return {
            "address": a["address"],
            "balance": int(a["balance"]),
            "nonce": int(a["nonce"]),
            "staked": int(a["staked"]),
        }

    def block(self, block: Union[int, str, None] = None) -> dict[str, Any]:
        """A block by height, 0x hash, or the latest."""
        return dict(self.call("chain_getBlock", block))

    def receipts(self, block: Union[int, str, None] = None) -> list[dict[str, Any]]:
        """The receipts of a block's transactions, in block order."""
        return list(self.call("chain_getBlockReceipts", block))

    def account_page(self, after: Optional[str] = None, limit: int = 1000) -> dict[str, Any]:
        """Up to ``limit`` accounts with addresses after ``after``, in address order:
        ``{"accounts": [...], "next": address or None}`` (amounts as decimal strings)."""
        return dict(self.call("state_getAccounts", after, limit))

    def transaction(self, tx_hash: str) -> dict[str, Any]:
        """A committed transaction with its receipt."""
        return dict(self.call("chain_getTransaction", tx_hash))

    def proof(self, address: str, height: Optional[int] = None) -> dict[str, Any]:
        """An account with a proof against a header's state root."""
        return dict(self.call("state_getProof", address, height))

    def validators(self, height: Optional[int] = None) -> list[dict[str, Any]]:
        """The validator set of block ``height``, or of the next block."""
        return list(self.call("staking_getValidators", height))

    def validator(self, address: str) -> dict[str, Any]:
        """A validator's staking record, power and its operator's unbonding funds."""
        return dict(self.call("staking_getValidator", address))

    def mine(self, blocks: int = 1) -> list[dict[str, Any]]:
        """Makes blocks now (dev chains)."""
        return list(self.call("dev_mine", blocks))
