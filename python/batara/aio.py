"""asyncio variants of the node API.

:class:`AsyncNode` wraps a :class:`batara.Node`; every call that can wait runs in a worker thread
(``asyncio.to_thread``: the native calls release the GIL), so the event loop never blocks, and it
works in any running loop (Jupyter's included). Waits are sliced (0.5 s), so cancelling a task that
awaits a block or a transaction takes effect promptly. Cheap reads (``account``, ``block``, ...)
stay synchronous.

>>> async def main():
...     async with await AsyncNode.dev(accounts=2) as node:
...         a, b = node.accounts
...         await node.transfer(a, b.address, 5)
...         async for block in node.blocks():
...             break
"""

from __future__ import annotations

import asyncio
from os import PathLike
from typing import Any, AsyncIterator, Optional, Sequence, Union

from batara._native import Account, Keypair, Node
from batara.exceptions import Timeout, TxRejected

_SLICE = 0.5


class AsyncNode:
    """An embedded node with an asyncio API (see the module docs)."""

    def __init__(self, node: Node) -> None:
        self.node = node

    @classmethod
    async def dev(cls, **kwargs: Any) -> "AsyncNode":
        """Like :meth:`batara.Node.dev`, started in a worker thread."""
        return cls(await asyncio.to_thread(lambda: Node.dev(**kwargs)))

    @classmethod
    async def from_home(cls, home: Union[str, PathLike[str]]) -> "AsyncNode":
        """Like :meth:`batara.Node.from_home`."""
        return cls(await asyncio.to_thread(Node.from_home, home))

    @property
    def chain_id(self) -> str:
        return self.node.chain_id

    @property
    def accounts(self) -> list[Keypair]:
        return self.node.accounts

    @property
    def height(self) -> int:
        return self.node.height

    def account(self, address: str, height: Optional[int] = None) -> Account:
        return self.node.account(address, height)

    def block(self, block: Union[int, str, None] = None) -> dict[str, Any]:
        return self.node.block(block)

    def balance(self, address: str) -> int:
        return self.node.balance(address)

    def balances(self, addresses: Sequence[str]) -> list[int]:
        return self.node.balances(addresses)

    def account_page(self, after: Optional[str] = None, limit: int = 1000) -> dict[str, Any]:
        return self.node.account_page(after, limit)

    def receipts(self, block: Union[int, str, None] = None) -> list[dict[str, Any]]:
        return self.node.receipts(block)

    def transaction(self, tx_hash: str) -> dict[str, Any]:
        return self.node.transaction(tx_hash)

    def info(self) -> dict[str, Any]:
        return self.node.info()

    def header(self, block: Union[int, str, None] = None) -> dict[str, Any]:
        return self.node.header(block)

    def proof(self, address: str, height: Optional[int] = None) -> dict[str, Any]:
        return self.node.proof(address, height)

    def validators(self, height: Optional[int] = None) -> list[dict[str, Any]]:
        return self.node.validators(height)

    def validator(self, address: str) -> dict[str, Any]:
        return self.node.validator(address)

    def delegations(self, delegator: str) -> dict[str, Any]:
        return self.node.delegations(delegator)

    def delegators(self, validator: str, after: Optional[str] = None, limit: int = 1000) -> dict[str, Any]:
        return self.node.delegators(validator, after, limit)

    def rewards(self, delegator: str) -> dict[str, Any]:
        return self.node.rewards(delegator)

    def community_pool(self) -> dict[str, Any]:
        return self.node.community_pool()

    def proposal(self, id: int) -> dict[str, Any]:
        return self.node.proposal(id)

    def proposals(
        self, status: Optional[str] = None, after: Optional[int] = None, limit: int = 100
    ) -> dict[str, Any]:
        return self.node.proposals(status, after, limit)

    def votes(self, id: int, after: Optional[str] = None, limit: int = 1000) -> dict[str, Any]:
        return self.node.votes(id, after, limit)

    def gov_params(self) -> dict[str, Any]:
        return self.node.gov_params()

    def next_nonce(self, address: str) -> int:
        return self.node.next_nonce(address)

    async def submit_batch(self, txs: list[bytes]) -> list[Union[str, TxRejected]]:
        """One result per transaction: its hash, or the TxRejected it got (returned, not raised)."""
        return await asyncio.to_thread(self.node.submit_batch, txs)

    async def submit(self, tx: bytes, wait: bool = False, timeout: float = 60.0) -> str:
        h = await asyncio.to_thread(self.node.submit, tx)
        if wait:
            await self.wait(h, timeout)
        return h

    async def wait(self, tx_hash: str, timeout: float = 60.0) -> dict[str, Any]:
        """Waits for a commit in short slices, so cancellation is prompt."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise Timeout(f"transaction {tx_hash} not committed within {timeout} s")
            try:
                return await asyncio.to_thread(self.node.wait, tx_hash, min(_SLICE, left))
            except Timeout:
                continue

    async def transfer(
        self, keypair: Keypair, to: str, amount: int, fee: int = 0, wait: bool = True
    ) -> str:
        h = await asyncio.to_thread(self.node.transfer, keypair, to, amount, fee, False)
        if wait:
            await self.wait(h)
        return h

    async def mine(self, blocks: int = 1) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.node.mine, blocks)

    async def snapshot(self) -> int:
        return await asyncio.to_thread(self.node.snapshot)

    async def revert(self, snapshot: int) -> None:
        await asyncio.to_thread(self.node.revert, snapshot)

    async def set_balance(self, address: str, amount: int) -> None:
        await asyncio.to_thread(self.node.set_balance, address, amount)

    async def increase_time(self, ms: int) -> int:
        return await asyncio.to_thread(self.node.increase_time, ms)

    async def skip_to(
        self,
        *,
        voting_end: Optional[int] = None,
        unbonding_end: bool = False,
        height: Optional[int] = None,
    ) -> dict[str, Any]:
        return await asyncio.to_thread(
            lambda: self.node.skip_to(voting_end=voting_end, unbonding_end=unbonding_end, height=height)
        )

    def blocks(self) -> AsyncIterator[dict[str, Any]]:
        """Committed blocks from the moment of this call on; ends when the node stops."""
        # Subscribe now: an async generator's body would only start at the first iteration.
        stream = self.node.blocks()

        async def follow() -> AsyncIterator[dict[str, Any]]:
            while True:
                try:
                    yield await asyncio.to_thread(stream.next, _SLICE)
                except Timeout:
                    continue
                except StopIteration:
                    return

        return follow()

    async def stop(self) -> None:
        await asyncio.to_thread(self.node.stop)

    async def __aenter__(self) -> "AsyncNode":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()
