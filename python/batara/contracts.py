"""Contracts from Python: upload, instantiate, call and query, on :class:`batara.Node` and
:class:`batara.Client` alike.

The calling convention (``docs/CONTRACTS.md``): a method's arguments go in as JSON text (or raw
bytes), its result comes back as JSON text, an error as the revert's text. So::

    token = node.instantiate(alice, code_hash, {"name": "T", "symbol": "T", "supply": "1000"})
    token.call("transfer", {"to": bob.address, "amount": "5"}, signer=alice)
    token.query("balance_of", {"owner": bob.address})    # -> "5"

Each write builds a :class:`batara.Transaction`, estimates its gas when ``gas`` is not given (the
node's estimate plus a quarter, as wallets add a margin), pays the node's minimum fee and gas price
unless told otherwise, signs with the next nonce and waits for the block.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Protocol, Union

from batara._native import Keypair, Node
from batara.exceptions import BataraError
from batara.tx import Transaction, encode_args

__all__ = ["CallFailed", "Contract", "decode_events"]


class CallFailed(BataraError):
    """A contract call failed (its receipt, or a query, carries the error); ``receipt`` is the
    committed receipt (None for a query)."""

    def __init__(self, message: str, receipt: Optional[dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.receipt = receipt


class _Api(Protocol):
    @property
    def chain_id(self) -> str: ...
    def info(self) -> dict[str, Any]: ...
    def next_nonce(self, address: str) -> int: ...
    def submit(self, tx: bytes, wait: bool = False, timeout: float = 60.0) -> str: ...
    def wait(self, hash: str, timeout: float = 60.0) -> dict[str, Any]: ...
    def contract_info(self, address: str, height: Optional[int] = None) -> dict[str, Any]: ...
    def storage(
        self, contract: str, slot: bytes, height: Optional[int] = None, prove: bool = False
    ) -> dict[str, Any]: ...
    def query_raw(
        self, contract: str, method: str, args: bytes, caller: Optional[str] = None, gas: int = 0
    ) -> dict[str, Any]: ...
    def estimate_gas(self, sender: str, kind: str) -> dict[str, Any]: ...


def _decode(output: Union[str, bytes]) -> Any:
    raw = bytes.fromhex(output.removeprefix("0x")) if isinstance(output, str) else output
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def decode_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Receipt events with contract events decoded: ``{"kind": "contract", "contract": address,
    "topics": [...], "data": JSON value or bytes}``; other events as ``{"kind", attributes...}``."""
    out = []
    for e in events:
        attrs = dict(e["attributes"])
        if e["kind"] == "contract":
            topics = [v for k, v in e["attributes"] if k.startswith("topic")]
            out.append(
                {
                    "kind": "contract",
                    "contract": attrs["contract"],
                    "topics": topics,
                    "data": _decode(attrs.get("data", "0x")),
                }
            )
        else:
            out.append({"kind": e["kind"], **attrs})
    return out


def _send(
    api: _Api,
    signer: Keypair,
    tx: Transaction,
    gas: Optional[int],
    gas_price: Optional[int],
    fee: Optional[int],
) -> dict[str, Any]:
    """Fills in gas, price and fee, signs, submits, waits; the committed tx with decoded events
    and result. Raises CallFailed if the receipt failed."""
    info = api.info()
    kind = dict(tx.kind)
    kind["gas_price"] = str(int(info["min_gas_price"]) if gas_price is None else gas_price)
    if gas is None:
        kind["gas_limit"] = "0"
        est = api.estimate_gas(signer.address, json.dumps(kind))
        if est["error"] is not None:
            raise CallFailed(f"the transaction would fail: {est['error']}")
        used = int(est["gas_used"])
        gas = used + used // 4
    kind["gas_limit"] = str(gas)
    fee = int(info["min_fee"]) if fee is None else fee
    signed = Transaction(kind, fee).sign(signer, api.next_nonce(signer.address), api.chain_id)
    done = api.wait(api.submit(signed.raw))
    receipt = done["receipt"]
    if receipt["status"] != "success":
        raise CallFailed(str(receipt["error"]), receipt)
    return {
        "hash": done["hash"],
        "height": int(done["height"]),
        "gas_used": int(receipt["gas_used"]),
        "fee": int(receipt["fee"]),
        "result": _decode(receipt.get("output", "0x")),
        "events": decode_events(receipt["events"]),
        "receipt": receipt,
    }


class Contract:
    """A contract at ``address`` on a node or client; ``signer`` signs its calls unless a call
    names another."""

    def __init__(self, api: _Api, address: str, signer: Optional[Keypair] = None) -> None:
        self._api = api
        self.address = address
        self.signer = signer

    def __repr__(self) -> str:
        return f"Contract({self.address})"

    def info(self) -> dict[str, Any]:
        """Its record: code hash, creator, height, balance (NotFound if there is none)."""
        return self._api.contract_info(self.address)

    def query(self, method: str, args: Any = None, caller: Optional[str] = None) -> Any:
        """Runs ``method`` read-only against the latest state; returns its result (JSON decoded,
        else bytes). Raises CallFailed with the contract's error."""
        raw = b"" if args is None else encode_args(args)
        r = self._api.query_raw(self.address, method, raw, caller)
        if r["error"] is not None:
            raise CallFailed(f"{method}: {r['error']}")
        return _decode(r["output"])

    def call(
        self,
        method: str,
        args: Any = None,
        *,
        signer: Optional[Keypair] = None,
        value: int = 0,
        gas: Optional[int] = None,
        gas_price: Optional[int] = None,
        fee: Optional[int] = None,
    ) -> dict[str, Any]:
        """Calls ``method`` in a transaction and waits for its block: ``{"hash", "height",
        "gas_used", "fee", "result", "events", "receipt"}``. Raises CallFailed if it fails."""
        key = signer or self.signer
        if key is None:
            raise BataraError("Contract.call needs a signer (Contract(..., signer=) or signer=)")
        tx = Transaction.call(self.address, method, b"" if args is None else args, value)
        return _send(self._api, key, tx, gas, gas_price, fee)

    def storage(self, slot: bytes) -> Optional[bytes]:
        """The raw value of one of its storage slots (None when empty)."""
        v = self._api.storage(self.address, slot)["value"]
        return None if v is None else bytes.fromhex(v.removeprefix("0x"))


def upload(
    self: _Api,
    signer: Keypair,
    code: bytes,
    *,
    gas: Optional[int] = None,
    gas_price: Optional[int] = None,
    fee: Optional[int] = None,
) -> str:
    """Uploads WebAssembly ``code`` (binary; ``wat`` text is compiled by the CLI only) and waits;
    returns its code hash. Uploading stored code again costs gas but no deposit."""
    r = _send(self, signer, Transaction.upload(code, 0, 0), gas, gas_price, fee)
    return str(r["events"][0]["code_hash"])


def instantiate(
    self: _Api,
    signer: Keypair,
    code_hash: str,
    args: Any = None,
    *,
    salt: bytes = b"",
    value: int = 0,
    gas: Optional[int] = None,
    gas_price: Optional[int] = None,
    fee: Optional[int] = None,
) -> Contract:
    """Instantiates uploaded code (``init`` runs with ``args``) and waits; returns the new
    :class:`Contract`, signed for by ``signer``."""
    tx = Transaction.instantiate(code_hash, b"" if args is None else args, salt, value)
    r = _send(self, signer, tx, gas, gas_price, fee)
    return Contract(self, str(r["events"][0]["contract"]), signer)


def contract(self: _Api, address: str, signer: Optional[Keypair] = None) -> Contract:
    """The contract at ``address`` (calls signed by ``signer`` unless a call names another)."""
    return Contract(self, address, signer)


# The embedded node is a native class: the helpers are attached to it here (Client defines
# them as methods that call these).
for _name, _fn in (("upload", upload), ("instantiate", instantiate), ("contract", contract)):
    setattr(Node, _name, _fn)
del _name, _fn
