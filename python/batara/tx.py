"""Transactions to sign: a kind (the JSON shape JSON-RPC prints) and a fee.

The typed builders below are the only per-kind code of the Python SDK: a kind crosses into the
native module as JSON (``_native.Transaction.from_kind``), which decodes it with the node's own
parser (``api::parse::tx_kind``: unknown kinds, fields and malformed values are ``InvalidInput``),
so a new kind of transaction needs a builder here and nothing native. The node's stateful and
module checks run when the signed transaction is submitted.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Union

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


def _gas(value: int, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 64:
        raise InvalidInput(f"{what}: expected an int from 0 to {(1 << 64) - 1}, got {value!r}")
    return str(value)


def _hex(value: Union[bytes, bytearray], what: str) -> str:
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{what} must be bytes, got {type(value).__name__}")
    return "0x" + bytes(value).hex()


def encode_args(args: Any) -> bytes:
    """Arguments by the calling convention (``docs/CONTRACTS.md``): bytes as they are, anything
    else as compact JSON text."""
    if isinstance(args, (bytes, bytearray)):
        return bytes(args)
    return json.dumps(args, separators=(",", ":")).encode()


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

    @staticmethod
    def delegate(validator: str, amount: int, fee: int = 0) -> Transaction:
        """Delegate ``amount`` to ``validator`` (an address) for shares of its stake."""
        return Transaction(
            {
                "type": "delegate",
                "validator": _text(validator, "validator"),
                "amount": _amount(amount, "amount"),
            },
            fee,
        )

    @staticmethod
    def undelegate(validator: str, amount: int, fee: int = 0) -> Transaction:
        """Take ``amount`` of stake out of the delegation to ``validator``; the funds return after
        the unbonding period."""
        return Transaction(
            {
                "type": "undelegate",
                "validator": _text(validator, "validator"),
                "amount": _amount(amount, "amount"),
            },
            fee,
        )

    @staticmethod
    def redelegate(src_validator: str, dst_validator: str, amount: int, fee: int = 0) -> Transaction:
        """Move ``amount`` of delegated stake from ``src_validator`` to ``dst_validator`` at once."""
        return Transaction(
            {
                "type": "redelegate",
                "src_validator": _text(src_validator, "src_validator"),
                "dst_validator": _text(dst_validator, "dst_validator"),
                "amount": _amount(amount, "amount"),
            },
            fee,
        )

    @staticmethod
    def withdraw_rewards(validator: Optional[str] = None, fee: int = 0) -> Transaction:
        """Pay the signer's pending rewards from ``validator``, or from every validator (None)."""
        kind: dict[str, Any] = {"type": "withdraw_rewards"}
        if validator is not None:
            kind["validator"] = _text(validator, "validator")
        return Transaction(kind, fee)

    @staticmethod
    def edit_commission(
        validator: str, rate_ppm: int, max_rate_ppm: int, max_change_ppm: int, fee: int = 0
    ) -> Transaction:
        """Set the commission of a validator the signer operates, in parts per million: the rate,
        the most it may ever be, and the most it may move in 24 hours."""
        kind: dict[str, Any] = {"type": "edit_commission", "validator": _text(validator, "validator")}
        for name, value in (
            ("rate_ppm", rate_ppm),
            ("max_rate_ppm", max_rate_ppm),
            ("max_change_ppm", max_change_ppm),
        ):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if not 0 <= value <= 1_000_000:
                raise InvalidInput(f"{name} must be 0..=1000000 (parts per million), got {value}")
            kind[name] = value
        return Transaction(kind, fee)

    @staticmethod
    def propose(
        title: str,
        content: dict[str, Any],
        deposit: int,
        summary: str = "",
        expedited: bool = False,
        fee: int = 0,
    ) -> Transaction:
        """Submit a governance proposal with an initial ``deposit``. ``content`` is what it does:
        ``{"kind": "text"}``, ``Transaction.params_change({...})``, ``{"kind": "upgrade", "name":
        …, "height": …, "info": …}`` or ``{"kind": "spend", "recipient": …, "amount": …}``."""
        if not isinstance(content, dict):
            raise TypeError(f"content must be a dict, got {type(content).__name__}")
        if not isinstance(expedited, bool):
            raise TypeError(f"expedited must be a bool, got {type(expedited).__name__}")
        return Transaction(
            {
                "type": "propose",
                "title": _text(title, "title"),
                "summary": _text(summary, "summary"),
                "content": content,
                "deposit": _amount(deposit, "deposit"),
                "expedited": expedited,
            },
            fee,
        )

    @staticmethod
    def params_change(changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The content of a parameter-change proposal: parameter sets (``chain``, ``staking``,
        ``vm``, ``gov``) to the fields to change, e.g. ``{"chain": {"max_block_txs": 5000}}``."""
        if not isinstance(changes, dict) or not changes:
            raise InvalidInput("changes must be a non-empty dict of parameter sets")
        out = []
        for name, values in changes.items():
            if not isinstance(values, dict):
                raise InvalidInput(f"changes[{name!r}] must be a dict of fields")
            out.append({"params": _text(name, "parameter set"), "values": values})
        return {"kind": "params", "changes": out}

    @staticmethod
    def deposit(proposal: int, amount: int, fee: int = 0) -> Transaction:
        """Add ``amount`` to proposal ``proposal``'s deposit."""
        return Transaction(
            {"type": "deposit", "proposal": _gas(proposal, "proposal"), "amount": _amount(amount, "amount")},
            fee,
        )

    @staticmethod
    def vote(proposal: int, option: Union[str, dict[str, float]], fee: int = 0) -> Transaction:
        """Vote on ``proposal``: one option (``"yes"``, ``"no"``, ``"abstain"``, ``"veto"``), or a
        split vote as weights summing to 1 (``{"yes": 0.7, "no": 0.3}``, up to 6 decimals)."""
        if isinstance(option, str):
            options = [{"option": option, "weight_ppm": 1_000_000}]
        elif isinstance(option, dict):
            options = []
            for name, w in option.items():
                if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 < w <= 1:
                    raise InvalidInput(f"weight of {name!r} must be a number in (0, 1], got {w!r}")
                options.append({"option": _text(name, "option"), "weight_ppm": round(w * 1_000_000)})
        else:
            raise TypeError(f"option must be a str or a dict of weights, got {type(option).__name__}")
        return Transaction({"type": "vote", "proposal": _gas(proposal, "proposal"), "options": options}, fee)

    @staticmethod
    def cancel_proposal(proposal: int, fee: int = 0) -> Transaction:
        """Withdraw a proposal the signer submitted, before its vote ends."""
        return Transaction({"type": "cancel_proposal", "proposal": _gas(proposal, "proposal")}, fee)

    @staticmethod
    def upload(code: Union[bytes, bytearray], gas_limit: int, gas_price: int, fee: int = 0) -> Transaction:
        """Store WebAssembly ``code`` (binary) under its SHA-256 hash, paying its deposit."""
        return Transaction(
            {
                "type": "upload",
                "code": _hex(code, "code"),
                "gas_limit": _gas(gas_limit, "gas_limit"),
                "gas_price": _amount(gas_price, "gas_price"),
            },
            fee,
        )

    @staticmethod
    def instantiate(
        code_hash: str,
        args: Any = b"",
        salt: Union[bytes, bytearray] = b"",
        value: int = 0,
        gas_limit: int = 0,
        gas_price: int = 0,
        fee: int = 0,
    ) -> Transaction:
        """Create a contract from uploaded code ``code_hash``; ``init`` runs with ``args`` (bytes,
        or a value sent as JSON) and ``value`` moves to it."""
        return Transaction(
            {
                "type": "instantiate",
                "code_hash": _text(code_hash, "code_hash"),
                "args": "0x" + encode_args(args).hex(),
                "salt": _hex(salt, "salt"),
                "value": _amount(value, "value"),
                "gas_limit": _gas(gas_limit, "gas_limit"),
                "gas_price": _amount(gas_price, "gas_price"),
            },
            fee,
        )

    @staticmethod
    def call(
        contract: str,
        method: str,
        args: Any = b"",
        value: int = 0,
        gas_limit: int = 0,
        gas_price: int = 0,
        fee: int = 0,
    ) -> Transaction:
        """Call ``method`` of ``contract`` with ``args`` (bytes, or a value sent as JSON),
        moving ``value`` to it."""
        return Transaction(
            {
                "type": "call",
                "contract": _text(contract, "contract"),
                "method": _text(method, "method"),
                "args": "0x" + encode_args(args).hex(),
                "value": _amount(value, "value"),
                "gas_limit": _gas(gas_limit, "gas_limit"),
                "gas_price": _amount(gas_price, "gas_price"),
            },
            fee,
        )

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
