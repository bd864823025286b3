"""A client for a remote Batara node's JSON-RPC API (standard library only).

:class:`Client` has the same surface as :class:`batara.Node` for everything JSON-RPC can do: the
same method names, arguments and result shapes (``chain_id``, ``height``, ``info``, ``block``,
``header``, ``receipts``, ``transaction``, ``account``, ``account_page``, ``proof``, ``validators``,
``validator``, ``submit``, ``submit_batch``, ``wait``, ``transfer``, ``next_nonce`` and the dev
controls ``mine``, ``snapshot``, ``revert``, ``set_balance``, ``increase_time``), against a URL such
as ``http://127.0.0.1:8545``. JSON-RPC errors become the same exception classes as the embedded node
raises (``TxRejected`` with its ``reason``, ``NotFound``, ``InvalidInput``, ...).

What only the embedded node has: ``blocks()`` (a stream; JSON-RPC streams over WebSocket only),
``accounts``, ``rpc_url``, ``stop()``.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from batara._native import Keypair, error_table
from batara.account import Account, AccountRecord
from batara.exceptions import BataraError, InvalidInput, NotFound, Timeout, TxRejected

if TYPE_CHECKING:
    from batara.contracts import Contract
from batara.tx import Transaction, _amount

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


BlockId = Union[int, str, None]


def _rejected(message: str, reason: str) -> TxRejected:
    exc = TxRejected(message)
    exc.reason = reason
    return exc


def _raw(tx: bytes) -> bytes:
    # The embedded node takes bytes only (a SignedTransaction's ``raw``); so does the client.
    if not isinstance(tx, bytes):
        raise TypeError(f"a transaction must be bytes, not {type(tx).__name__}")
    return tx


class Client:
    """JSON-RPC client of a Batara node (see the module docs).

    ``timeout`` bounds each HTTP request, in seconds. Errors: :class:`BataraError` when the node
    cannot be reached or does not answer JSON-RPC; otherwise the class of the node's error code.
    """

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._chain_id: Optional[str] = None

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
            message = str(err.get("message", "unknown error"))
            if cls is TxRejected:
                raise _rejected(message, str((err.get("data") or {}).get("reason", "")))
            raise cls(message)
        return reply["result"]

    # --- reads -----------------------------------------------------------------------------

    @property
    def chain_id(self) -> str:
        """The node's chain id (asked once, then remembered: it never changes)."""
        if self._chain_id is None:
            self._chain_id = str(self.info()["chain_id"])
        return self._chain_id

    @property
    def height(self) -> int:
        """The head height."""
        return int(self.info()["height"])

    def info(self) -> dict[str, Any]:
        """Node status: chain_id, version, height, latest_hash, peers, is_validator, syncing, ..."""
        return dict(self.call("node_info"))

    def block(self, block: BlockId = None) -> dict[str, Any]:
        """A block by height, 0x hash, or the latest (None or ``"latest"``). NotFound if absent."""
        return dict(self.call("chain_getBlock", block))

    def header(self, block: BlockId = None) -> dict[str, Any]:
        """A block's header: ``{"hash": 0x hash, "header": {...}}``, by height, hash or the latest."""
        return dict(self.call("chain_getHeader", block))

    def receipts(self, block: BlockId = None) -> list[dict[str, Any]]:
        """The receipts of a block's transactions, in block order."""
        return list(self.call("chain_getBlockReceipts", block))

    def transaction(self, hash: str) -> dict[str, Any]:
        """A committed transaction with its receipt and block height. NotFound if not committed;
        InvalidInput for a malformed hash."""
        return dict(self.call("chain_getTransaction", hash))

    def account(self, address: str, height: Optional[int] = None) -> Account:
        """An account at the head (or after block ``height``): an :class:`batara.Account` with
        address, balance, nonce and staked (ints). InvalidInput for a malformed address."""
        a = self.call("state_getAccount", address, height)
        return AccountRecord(
            address=str(a["address"]),
            balance=int(a["balance"]),
            nonce=int(a["nonce"]),
            staked=int(a["staked"]),
        )

    def balance(self, address: str) -> int:
        """The latest balance of ``address`` (0 when it has no account). InvalidInput for a
        malformed address."""
        return int(self.call("state_getBalances", [address])[0])

    def balances(self, addresses: Sequence[str]) -> list[int]:
        """The latest balances of up to 10,000 addresses, in order, all after the same block
        (JSON-RPC ``state_getBalances``)."""
        if isinstance(addresses, str):
            raise TypeError("addresses must be a sequence of addresses, not one str")
        return [int(b) for b in self.call("state_getBalances", list(addresses))]

    def account_page(self, after: Optional[str] = None, limit: int = 1000) -> dict[str, Any]:
        """Up to ``limit`` accounts with addresses after ``after``, in address order:
        ``{"accounts": [...], "next": address or None}`` (amounts as decimal strings)."""
        return dict(self.call("state_getAccounts", after, limit))

    def proof(self, address: str, height: Optional[int] = None) -> dict[str, Any]:
        """An account with a proof against a header's state root: ``{"value": {"balance",
        "nonce"} or None, "proof": 0x hex (borsh jmt proof), "state_root", "height"}``."""
        p = dict(self.call("state_getProof", address, height))
        # JSON-RPC repeats the address it was asked about; the node's result does not.
        p.pop("address", None)
        return p

    def validators(self, height: Optional[int] = None) -> list[dict[str, Any]]:
        """The validator set of block ``height``, or of the next block."""
        return list(self.call("staking_getValidators", height))

    def validator(self, address: str) -> dict[str, Any]:
        """A validator's staking record, power and its operator's unbonding funds. NotFound if
        there is no such validator."""
        return dict(self.call("staking_getValidator", address))

    def delegations(self, delegator: str) -> dict[str, Any]:
        """An account's delegations (validator, shares, amount, pending_rewards), their totals and
        its unbonding funds."""
        return dict(self.call("staking_getDelegations", delegator))

    def delegators(self, validator: str, after: Optional[str] = None, limit: int = 1000) -> dict[str, Any]:
        """A page of a validator's delegators by address: ``{validator, delegations, next}``;
        pass ``next`` as ``after`` for the following page. NotFound if no such validator."""
        return dict(self.call("staking_getDelegators", validator, after, limit))

    def rewards(self, delegator: str) -> dict[str, Any]:
        """A delegator's pending rewards per validator: ``{delegator, rewards, total}``."""
        return dict(self.call("distribution_getRewards", delegator))

    def community_pool(self) -> dict[str, Any]:
        """The community pool (``amount``), the outstanding rewards and the supply counters
        (``minted``, ``burned``)."""
        return dict(self.call("distribution_getCommunityPool"))

    def proposal(self, id: int) -> dict[str, Any]:
        """A governance proposal with its deposits and tally (final, or live while voting)
        (JSON-RPC ``gov_getProposal``). NotFound if none."""
        return dict(self.call("gov_getProposal", str(id)))

    def proposals(
        self, status: Optional[str] = None, after: Optional[int] = None, limit: int = 100
    ) -> dict[str, Any]:
        """A page of proposals by id, of ``status`` if given (``deposit_period``,
        ``voting_period``, ``passed``, ``rejected``, ``failed``, ``canceled``): ``{proposals,
        next}``; pass ``next`` as ``after`` for the following page."""
        return dict(
            self.call("gov_listProposals", status, None if after is None else str(after), limit)
        )

    def votes(self, id: int, after: Optional[str] = None, limit: int = 1000) -> dict[str, Any]:
        """A page of proposal ``id``'s votes by voter: ``{proposal, votes, next}``, each vote
        with its options and the voter's bonded stake now."""
        return dict(self.call("gov_getVotes", str(id), after, limit))

    def gov_params(self) -> dict[str, Any]:
        """Governance parameters in force and the parameter sets proposals may change."""
        return dict(self.call("gov_getParams"))

    def contract_info(self, address: str, height: Optional[int] = None) -> dict[str, Any]:
        """A contract's record: code hash, creator, height, balance. NotFound if none."""
        return dict(self.call("vm_getContract", address, height))

    def code(self, code_hash: str) -> dict[str, Any]:
        """Stored contract code: uploader, size, deposit, height and the module (0x hex)."""
        return dict(self.call("vm_getCode", code_hash))

    def submit_evidence(self, evidence: dict[str, Any]) -> str:
        """Submits evidence that a validator signed two conflicting votes (``{vote_a, vote_b}``,
        the shape blocks carry) to the node (JSON-RPC ``evidence_submit``); returns its hash.
        InvalidInput naming the cause (not verifying, too old, punished already, a dev chain)."""
        return str(self.call("evidence_submit", evidence))

    def backup(self) -> dict[str, Any]:
        """A consistent backup of the node's chain, written by the node into a new directory of
        its ``backup_dir`` (JSON-RPC ``node_backup``; off unless the node sets ``backup_dir``):
        dir (on the node's machine), chain_id, height, hash, state_root, bytes, created_ms."""
        return dict(self.call("node_backup"))

    def trace(self, tx_hash: str) -> dict[str, Any]:
        """Every host call of contract transaction ``tx_hash`` (dev nodes keep them)."""
        return dict(self.call("vm_traceTransaction", tx_hash))

    def storage(
        self, contract: str, slot: bytes, height: Optional[int] = None, prove: bool = False
    ) -> dict[str, Any]:
        """A contract's storage slot: value (0x hex or None), height, and a proof if ``prove``."""
        return dict(self.call("vm_getStorage", contract, "0x" + bytes(slot).hex(), height, prove))

    def query_raw(
        self, contract: str, method: str, args: bytes, caller: Optional[str] = None, gas: int = 0
    ) -> dict[str, Any]:
        """A read-only call with input ``args`` (bytes): output (0x hex), gas_used, events, error."""
        r = dict(
            self.call("vm_query", contract, method, None, None, caller, gas, "0x" + args.hex())
        )
        # JSON-RPC adds the output read as JSON; the embedded node's result has no such field.
        r.pop("result", None)
        return r

    def estimate_gas(self, sender: str, kind: str) -> dict[str, Any]:
        """The gas a contract transaction of ``kind`` (JSON text) from ``sender`` would use:
        ``{"gas_used", "error"}``."""
        return dict(self.call("vm_estimateGas", {"from": sender, "kind": json.loads(kind)}))

    def upload(
        self,
        signer: Keypair,
        code: bytes,
        *,
        gas: Optional[int] = None,
        gas_price: Optional[int] = None,
        fee: Optional[int] = None,
    ) -> str:
        """Uploads WebAssembly ``code`` and waits; returns its code hash (batara.contracts)."""
        from batara.contracts import upload

        return upload(self, signer, code, gas=gas, gas_price=gas_price, fee=fee)

    def instantiate(
        self,
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
        """Instantiates uploaded code and waits; returns the new contract (batara.contracts)."""
        from batara.contracts import instantiate

        return instantiate(
            self, signer, code_hash, args, salt=salt, value=value, gas=gas, gas_price=gas_price,
            fee=fee,
        )

    def contract(self, address: str, signer: Optional[Keypair] = None) -> Contract:
        """The contract at ``address`` (batara.contracts.Contract)."""
        from batara.contracts import Contract

        return Contract(self, address, signer)

    def next_nonce(self, address: str) -> int:
        """The next nonce of ``address``, counting its gap-free pending transactions."""
        return int(self.call("tx_nextNonce", address))

    # --- submitting ------------------------------------------------------------------------

    def submit(self, tx: bytes, wait: bool = False, timeout: float = 60.0) -> str:
        """Submits signed transaction bytes; returns the hash (after the commit with ``wait``).
        Raises TxRejected (with ``reason``) if the node refuses it."""
        h = str(self.call("tx_submit", "0x" + _raw(tx).hex()))
        if wait:
            self.wait(h, timeout)
        return h

    def submit_batch(self, txs: list[bytes]) -> list[Union[str, TxRejected]]:
        """Submits many signed transactions at once. Returns one item per transaction, in order:
        its hash, or the :class:`TxRejected` it got (with ``reason``; returned, not raised)."""
        results = self.call("tx_submitBatch", ["0x" + _raw(t).hex() for t in txs])
        out: list[Union[str, TxRejected]] = []
        for r in results:
            if "hash" in r:
                out.append(str(r["hash"]))
            else:
                # The same message as the embedded node's TxRejected.
                out.append(_rejected(f"transaction rejected: {r['error']}", str(r["reason"])))
        return out

    def wait(self, hash: str, timeout: float = 60.0) -> dict[str, Any]:
        """Polls until transaction ``hash`` is committed; returns it with its receipt. Timeout
        after ``timeout`` seconds. Unlike the embedded node, which raises NotFound at once for a
        hash that is neither pending nor committed, JSON-RPC cannot tell such a hash from a pending
        one: the client waits for it until the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return dict(self.call("chain_getTransaction", hash))
            except NotFound:
                if time.monotonic() >= deadline:
                    raise Timeout(f"transaction {hash} not committed within {timeout} s") from None
                time.sleep(0.02)

    def transfer(
        self, keypair: Keypair, to: str, amount: int, fee: Optional[int] = None, wait: bool = True
    ) -> str:
        """Builds, signs (next nonce) and submits a transfer; with ``wait``, returns after it
        commits. ``fee`` defaults to the node's minimum (``info()["min_fee"]``)."""
        if fee is None:
            fee = int(self.info()["min_fee"])
        signed = Transaction.transfer(to, amount, fee).sign(
            keypair, self.next_nonce(keypair.address), self.chain_id
        )
        return self.submit(signed.raw, wait=wait)

    # --- dev controls (dev chains; NotDevChain elsewhere) ----------------------------------

    def mine(self, blocks: int = 1) -> list[dict[str, Any]]:
        """Makes ``blocks`` blocks now; returns them (as :meth:`block` does)."""
        made = self.call("dev_mine", blocks)
        return [self.block(str(b["hash"])) for b in made]

    def snapshot(self) -> int:
        """Remembers the head; returns a snapshot id."""
        return int(self.call("dev_snapshot"))

    def revert(self, snapshot: int) -> None:
        """Returns to a snapshot, which is used up. NotFound for an unknown or used one."""
        self.call("dev_revert", snapshot)

    def set_balance(self, address: str, amount: int) -> None:
        """Sets a balance in a new block."""
        self.call("dev_setBalance", address, _amount(amount, "amount"))

    def increase_time(self, ms: int) -> int:
        """Moves block time forward by ``ms``; returns the total offset in ms."""
        return int(self.call("dev_increaseTime", ms))

    def skip_to(
        self,
        *,
        voting_end: Optional[int] = None,
        unbonding_end: bool = False,
        height: Optional[int] = None,
    ) -> dict[str, Any]:
        """Fast-forwards so that a period ends in the next block: a proposal's deposit or voting
        period (``voting_end=id``), the earliest pending unbonding (``unbonding_end=True``) or a
        ``height``; exactly one. Returns ``{height, time_offset_ms}``."""
        given = [voting_end is not None, unbonding_end, height is not None]
        if given.count(True) != 1:
            raise InvalidInput("give exactly one of voting_end, unbonding_end=True or height")
        if voting_end is not None:
            target: dict[str, Any] = {"voting_end": str(voting_end)}
        elif unbonding_end:
            target = {"unbonding_end": True}
        else:
            target = {"height": str(height)}
        return dict(self.call("dev_skipTo", target))
