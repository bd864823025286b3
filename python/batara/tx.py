"""Transactions to sign: a kind (the JSON shape JSON-RPC prints) and a fee.

The typed builders below are the only per-kind code of the Python SDK: a kind crosses into the
native module as JSON (``_native.Transaction.from_kind``), which decodes it with the node's own
parser (``api::parse::tx_kind``: unknown kinds, fields and malformed values are ``InvalidInput``),
so a new kind of transaction needs a builder here and nothing native. The node's stateful and
module checks run when the signed transaction is submitted.
"""

from __future__ import annotations

import json
from typing import Any, Union

from batara import _native
from batara._native import Keypair, SignedTransaction
from batara.exceptions import InvalidInput

_U128 = 1 << 128


def _amount(value: int, what: str) -> str:
    """An amount as the node's JSON takes it: an int from 0 to 2**128 - 1, else ``InvalidInput``
    (as the native arguments of ``Node.transfer`` and the rest give)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _U128:
        raise InvalidInput(f"{what}: expected an int from 0 to {_U128 - 1}, got {value!r}")
    return str(value)


def _text(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a str, got {type(value).__name__}")
    return value


class Transaction:
    """An unsigned transaction: ``kind`` (a dict such as ``{"type": "transfer", "to": "bat1…",
    "amount": "5"}``, amounts as decimal strings) and ``fee``. The kind is checked when built."""

    def __init__(self, kind: dict[str, Any], fee: int = 0) -> None:
        self._native = _native.Transaction.from_kind(json.dumps(kind), int(_amount(fee, "fee")))

    @staticmethod
    def transfer(to: str, amount: int, fee: int = 0) -> Transaction:
        """A transfer of ``amount`` to ``to``."""
        return Transaction(
            {"type": "transfer", "to": _text(to, "to"), "amount": _amount(amount, "amount")}, fee
        )

    @staticmethod
    def stake(validator_key: Union[bytes, bytearray], amount: int, fee: int = 0) -> Transaction:
        """Stake ``amount`` on the validator with consensus key ``validator_key`` (32 bytes):
        registers it (operated by the signer) or adds to one the signer operates."""
        if not isinstance(validator_key, (bytes, bytearray)):
            raise TypeError(f"validator_key must be bytes, got {type(validator_key).__name__}")
        if len(validator_key) != 32:
            raise InvalidInput(f"validator_key must be 32 bytes, got {len(validator_key)}")
        return Transaction(
            {
                "type": "stake",
                "validator_key": "0x" + bytes(validator_key).hex(),
                "amount": _amount(amount, "amount"),
            },
            fee,
        )

    @staticmethod
    def unstake(validator: str, amount: int, fee: int = 0) -> Transaction:
        """Unstake ``amount`` from ``validator`` (an address); the funds return after unbonding."""
        return Transaction(
            {
                "type": "unstake",
                "validator": _text(validator, "validator"),
                "amount": _amount(amount, "amount"),
            },
            fee,
        )

    @staticmethod
    def unjail(validator: str, fee: int = 0) -> Transaction:
        """Bring ``validator`` back after a downtime jailing."""
        return Transaction({"type": "unjail", "validator": _text(validator, "validator")}, fee)

    @property
    def kind(self) -> dict[str, Any]:
        """The kind, as the node reads it."""
        value: dict[str, Any] = json.loads(self._native.kind)
        return value

    @property
    def fee(self) -> int:
        """The fee."""
        return self._native.fee

    def sign(self, keypair: Keypair, nonce: int, chain_id: str) -> SignedTransaction:
        """Signs for ``chain_id`` with ``nonce``: the signed bytes (``.raw``) and ``.hash``."""
        return self._native.sign(keypair, nonce, chain_id)

    def __repr__(self) -> str:
        return f"Transaction({self.kind!r}, fee={self.fee})"
