"""The account type that :meth:`batara.Node.account` and :meth:`batara.Client.account` share.

:class:`Account` is a runtime-checkable protocol: the native ``batara._native.Account`` that a
:class:`batara.Node` (and a :class:`batara.ChainReader`) returns satisfies it, and so does the
:class:`AccountRecord` that a :class:`batara.Client` builds from JSON-RPC. Both have the same
read-only fields with the same Python types, so code written against one works with the other
(``isinstance(x, batara.Account)`` holds for both).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Protocol, Union, runtime_checkable


@runtime_checkable
class Account(Protocol):
    """An account: its address (``bat1…``), balance and staked amount in the smallest unit, and the
    nonce its next transaction must carry (all ints)."""

    @property
    def address(self) -> str: ...

    @property
    def balance(self) -> int: ...

    @property
    def nonce(self) -> int: ...

    @property
    def staked(self) -> int: ...


@dataclass(frozen=True)
class AccountRecord:
    """An :class:`Account` read over JSON-RPC (what :meth:`batara.Client.account` returns)."""

    address: str
    balance: int
    nonce: int
    staked: int

    def __getitem__(self, field: str) -> Union[str, int]:
        """Deprecated: ``Client.account`` used to return a dict; use the attributes."""
        warnings.warn(
            "Client.account() returns a batara.Account now; use .balance (not ['balance'])",
            DeprecationWarning,
            stacklevel=2,
        )
        if field not in ("address", "balance", "nonce", "staked"):
            raise KeyError(field)
        value: Union[str, int] = getattr(self, field)
        return value

    def __repr__(self) -> str:
        # The same text as the native Account's repr.
        return (
            f"Account(address={self.address}, balance={self.balance}, nonce={self.nonce}, "
            f"staked={self.staked})"
        )
