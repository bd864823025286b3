"""One surface: every test runs the same assertions against the embedded ``batara.Node`` and
against a ``batara.Client`` on that node's JSON-RPC (same method names, arguments, result shapes
and exception classes).

The ``chain`` fixture is a dev chain in auto mode (a block as soon as transactions wait); the
``manual`` fixture one that makes blocks only on ``mine()``, for what needs transactions to stay
pending. Both give the API under test (``api``) and the funded dev keys (``keys``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Union

import pytest

import batara

DEV_BALANCE = 10**24  # what each dev account holds at genesis
Api = Union[batara.Node, batara.Client]


@dataclass
class Chain:
    api: Api
    keys: list[batara.Keypair]


def _chain(request: pytest.FixtureRequest, mode: str = "auto") -> Iterator[Chain]:
    with batara.Node.dev(accounts=3, rpc_addr="127.0.0.1:0", mode=mode) as node:
        assert node.rpc_url is not None
        api: Api = node if request.param == "node" else batara.Client(node.rpc_url)
        yield Chain(api, node.accounts)


@pytest.fixture(params=["node", "client"])
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    yield from _chain(request)


@pytest.fixture(params=["node", "client"])
def manual(request: pytest.FixtureRequest) -> Iterator[Chain]:
    yield from _chain(request, mode="manual")


def address_bytes(key: batara.Keypair) -> bytes:
    return hashlib.sha256(key.public_key).digest()[:20]


# --- an independent check of state proofs (jmt 0.12 sparse Merkle proofs, SHA-256, borsh) ---

_PLACEHOLDER = b"SPARSE_MERKLE_PLACEHOLDER_HASH__"


def _sha(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def proof_verifies(
    state_root: str, address: bytes, value: Optional[tuple[int, int]], proof: str
) -> bool:
    """True when ``proof`` shows the account ``address`` holding ``value`` (balance, nonce), or
    being absent (None), under ``state_root``."""
    raw = bytes.fromhex(proof.removeprefix("0x"))
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        chunk = raw[pos : pos + n]
        assert len(chunk) == n, "truncated proof"
        pos += n
        return chunk

    leaf = (take(32), take(32)) if take(1) == b"\x01" else None
    siblings = []
    for _ in range(int.from_bytes(take(4), "little")):
        tag = take(1)[0]
        if tag == 0:
            siblings.append(_PLACEHOLDER)
        else:
            a, b = take(32), take(32)
            siblings.append(_sha(b"JMT::IntrnalNode" if tag == 1 else b"JMT::LeafNode", a, b))
    assert pos == len(raw), "trailing bytes after the proof"
    key = _sha(b"acct/", address)
    if value is not None:
        value_bytes = value[0].to_bytes(16, "little") + value[1].to_bytes(8, "little")
        if leaf is None or leaf != (key, _sha(value_bytes)):
            return False
    elif leaf is not None:
        common = next((i for i in range(256) if _bit(key, i) != _bit(leaf[0], i)), 256)
        if leaf[0] == key or common < len(siblings):
            return False
    h = _sha(b"JMT::LeafNode", *leaf) if leaf else _PLACEHOLDER
    for i, sibling in enumerate(siblings):
        right = _bit(key, len(siblings) - 1 - i)
        h = _sha(b"JMT::IntrnalNode", sibling, h) if right else _sha(b"JMT::IntrnalNode", h, sibling)
    return h == bytes.fromhex(state_root.removeprefix("0x"))


def _bit(h: bytes, i: int) -> bool:
    return bool(h[i // 8] >> (7 - i % 8) & 1)


def fields(a: batara.Account) -> tuple[str, int, int, int]:
    return (a.address, a.balance, a.nonce, a.staked)


# --- the shared tests ---


def test_chain_id_height_and_info(chain: Chain) -> None:
    api = chain.api
    assert api.chain_id == "batara-dev"
    assert api.height == 0
    info = api.info()
    assert info["chain_id"] == "batara-dev" and info["height"] == "0"
    assert info["engine"] == "dev" and info["is_validator"] is True
    assert info["latest_hash"] == info["genesis_hash"] == api.block(0)["hash"]
    a, b, _ = chain.keys
    api.transfer(a, b.address, 1)
    assert api.height == int(api.info()["height"]) >= 1


def test_reads_of_a_block_and_tx_after_a_transfer(chain: Chain) -> None:
    api = chain.api
    a, b, _ = chain.keys
    h = api.transfer(a, b.address, 1_000, fee=2)
    tx = api.transaction(h)
    assert tx["receipt"]["status"] == "success" and tx["receipt"]["fee"] == "2"
    assert tx["receipt"]["tx_hash"] == h and tx["tx"]["body"]["kind"]["amount"] == "1000"
    height = int(tx["height"])
    blk = api.block(height)
    assert [t["hash"] for t in blk["txs"]] == [h]
    assert blk["evidence"] == []  # double-signing evidence the block carries
    assert blk["header"]["height"] == str(height)
    assert api.block(blk["hash"]) == blk
    assert api.block() == api.block("latest") == api.block(api.height)
    assert api.header(height) == {"hash": blk["hash"], "header": blk["header"]}
    assert api.header(blk["hash"]) == api.header(height)
    assert api.header()["hash"] == api.block()["hash"]
    assert api.receipts(height) == [tx["receipt"]]
    assert api.receipts(0) == []


def test_account_fields(chain: Chain) -> None:
    api = chain.api
    a, b, _ = chain.keys
    before = api.account(b.address)
    assert isinstance(before, batara.Account)
    assert fields(before) == (b.address, DEV_BALANCE, 0, 0)
    assert all(type(v) is int for v in fields(before)[1:])
    h = api.transfer(a, b.address, 1_000, fee=2)
    assert fields(api.account(a.address)) == (a.address, DEV_BALANCE - 1_002, 1, 0)
    assert api.account(b.address).balance == DEV_BALANCE + 1_000
    # The state after an earlier block.
    at = int(api.transaction(h)["height"]) - 1
    assert fields(api.account(a.address, at)) == (a.address, DEV_BALANCE, 0, 0)
    # An address that never received anything is an empty account, not an error.
    nobody = batara.Keypair.generate().address
    assert fields(api.account(nobody)) == (nobody, 0, 0, 0)
    with pytest.raises(AttributeError):
        api.account(a.address).balance = 1  # type: ignore[misc]


def test_balance_and_balances(chain: Chain) -> None:
    api = chain.api
    a, b, _ = chain.keys
    api.transfer(a, b.address, 1_000, fee=2)
    nobody = batara.Keypair.generate().address
    assert api.balance(b.address) == DEV_BALANCE + 1_000
    assert type(api.balance(b.address)) is int
    assert api.balance(nobody) == 0
    # Many at once, in the order asked (a repeat included), equal to one by one.
    asked = [b.address, nobody, a.address, b.address]
    assert api.balances(asked) == [api.account(x).balance for x in asked]
    assert api.balances(asked)[2] == DEV_BALANCE - 1_002
    assert api.balances([]) == []
    with pytest.raises(batara.InvalidInput, match="bat1nope"):
        api.balance("bat1nope")
    with pytest.raises(batara.InvalidInput, match="bat1nope"):
        api.balances([a.address, "bat1nope"])
    with pytest.raises(batara.InvalidInput, match="at most 10000 addresses"):
        api.balances([nobody] * 10_001)
    with pytest.raises(TypeError):
        api.balances(a.address)


def test_account_page(chain: Chain) -> None:
    api = chain.api
    a, b, c = chain.keys
    d = batara.Keypair.generate()
    api.transfer(a, d.address, 5, fee=1)  # a fourth account
    seen: list[dict[str, str]] = []
    after: Optional[str] = None
    pages = 0
    while True:
        page = api.account_page(after, 2)
        assert set(page) == {"accounts", "next"} and len(page["accounts"]) <= 2
        seen += page["accounts"]
        pages += 1
        after = page["next"]
        if after is None:
            break
        assert after == page["accounts"][-1]["address"]
    addresses = [x["address"] for x in seen]
    raw = {k.address: address_bytes(k) for k in (a, b, c, d)}
    # The three dev accounts and the new one, in address-byte order (the fee accrued to the
    # validator's delegators: no account of its own).
    assert pages == 2 and sorted(addresses) == sorted(raw)
    assert addresses == sorted(addresses, key=raw.__getitem__)
    for x in seen:
        acct = api.account(x["address"])
        assert x == {
            "address": acct.address,
            "balance": str(acct.balance),
            "nonce": str(acct.nonce),
            "staked": str(acct.staked),
        }
    assert api.account_page(limit=1000) == {"accounts": seen, "next": None}


def test_proof_verifies_and_contains_the_account(chain: Chain) -> None:
    api = chain.api
    a, b, _ = chain.keys
    api.transfer(a, b.address, 7)
    p = api.proof(a.address)
    assert set(p) == {"value", "proof", "state_root", "height"}
    assert int(p["height"]) == api.height
    assert p["state_root"] == api.header(int(p["height"]))["header"]["state_root"]
    acct = api.account(a.address)
    assert p["value"] == {"balance": str(acct.balance), "nonce": str(acct.nonce)}
    value = (acct.balance, acct.nonce)
    assert proof_verifies(p["state_root"], address_bytes(a), value, p["proof"])
    # The check is real: another balance, another account or another root does not verify.
    assert not proof_verifies(p["state_root"], address_bytes(a), (acct.balance + 1, 1), p["proof"])
    assert not proof_verifies(p["state_root"], address_bytes(b), value, p["proof"])
    genesis_root = api.header(0)["header"]["state_root"]
    assert not proof_verifies(genesis_root, address_bytes(a), value, p["proof"])
    # An older height proves the older state.
    old = api.proof(a.address, 0)
    assert old["height"] == "0" and old["state_root"] == genesis_root
    assert proof_verifies(genesis_root, address_bytes(a), (DEV_BALANCE, 0), old["proof"])
    # An absent account has a non-inclusion proof.
    nobody = batara.Keypair.generate()
    absent = api.proof(nobody.address)
    assert absent["value"] is None
    assert proof_verifies(absent["state_root"], address_bytes(nobody), None, absent["proof"])
    assert not proof_verifies(absent["state_root"], address_bytes(nobody), (0, 0), absent["proof"])


def test_validators(chain: Chain) -> None:
    api = chain.api
    (v,) = api.validators()
    assert set(v) == {"address", "pubkey", "voting_power", "stake", "jailed", "operator"}
    assert v["voting_power"] == "1" and v["jailed"] is False
    assert batara.address_of(bytes.fromhex(v["pubkey"][2:])) == v["address"]
    with pytest.raises(batara.NotFound, match="genesis has none"):
        api.validators(0)
    a, b, _ = chain.keys
    api.transfer(a, b.address, 1)
    assert api.validators(1) == [v]
    detail = api.validator(v["address"])
    assert detail["operator"] == v["operator"] and detail["stake"] == v["stake"]
    assert detail["voting_power"] == "1" and detail["unbonding"] == []


def test_delegation_rewards_and_the_community_pool(chain: Chain) -> None:
    api = chain.api
    a, b, _ = chain.keys
    coin = 10**18
    (v,) = api.validators()
    val = v["address"]  # the dev validator: 1 coin of its own stake, every block's proposer

    def send(key: batara.Keypair, tx: batara.Transaction) -> dict[str, Any]:
        signed = tx.sign(key, api.next_nonce(key.address), api.chain_id)
        api.submit(signed.raw, wait=True, timeout=30)
        return api.transaction(signed.hash)

    assert send(b, batara.Transaction.delegate(val, 3 * coin, fee=1))["receipt"]["status"] == "success"
    mine = api.delegations(b.address)
    assert [(d["validator"], d["amount"]) for d in mine["delegations"]] == [(val, str(3 * coin))]
    assert mine["total_amount"] == str(3 * coin) and mine["unbonding"] == []
    assert api.account(b.address).staked == 3 * coin
    # A fee of 1,000,000: 2 % to the community pool, the rest to the validator's delegators by
    # shares (b holds 3 of its 4 coins; no commission).
    pool = int(api.community_pool()["amount"])
    before = int(api.rewards(b.address)["total"])
    send(a, batara.Transaction.transfer(a.address, 1, fee=1_000_000))
    assert int(api.community_pool()["amount"]) - pool == 20_000
    earned = int(api.rewards(b.address)["total"]) - before
    assert earned in (735_000, 734_999)
    first = api.delegators(val, limit=1)
    assert len(first["delegations"]) == 1 and first["next"] is not None
    rest = api.delegators(val, after=first["next"])
    assert rest["next"] is None
    assert {d["delegator"] for d in first["delegations"] + rest["delegations"]} == {val, b.address}
    # Withdrawing pays exactly what was pending; undelegating starts an unbonding entry.
    pending = int(api.rewards(b.address)["total"])
    balance = api.account(b.address).balance
    send(b, batara.Transaction.withdraw_rewards(fee=1))
    assert api.account(b.address).balance == balance + pending - 1
    send(b, batara.Transaction.undelegate(val, coin, fee=1))
    after = api.delegations(b.address)
    assert after["total_amount"] == str(2 * coin)
    assert after["unbonding"][0]["amount"] == str(coin)
    receipt = send(b, batara.Transaction.redelegate(val, val, 1, fee=1))["receipt"]
    assert "are the same" in receipt["error"]
    with pytest.raises(batara.NotFound):
        api.delegators(b.address)
    with pytest.raises(batara.InvalidInput):
        api.delegations("bat1nope")
    with pytest.raises(batara.InvalidInput):
        batara.Transaction.edit_commission(val, 2_000_000, 0, 0)


def test_governance_propose_vote_skip_to_the_end_and_tally(chain: Chain) -> None:
    api = chain.api
    a, b, c = chain.keys
    coin = 10**18
    (v,) = api.validators()

    def send(key: batara.Keypair, tx: batara.Transaction) -> dict[str, Any]:
        signed = tx.sign(key, api.next_nonce(key.address), api.chain_id)
        api.submit(signed.raw, wait=True, timeout=30)
        return api.transaction(signed.hash)

    # b bonds 3 coins beside the dev validator's 1: b alone is 75 % of the bonded stake.
    send(b, batara.Transaction.delegate(v["address"], 3 * coin, fee=1))
    params = api.gov_params()
    assert sorted(params["governed"]) == ["chain", "gov", "staking", "vm"]
    assert params["governed"]["chain"]["max_block_txs"] == 20_000
    assert params["governed"]["vm"]["max_tx_gas"] == "100000000"
    deposit = int(params["min_deposit"])
    changes = {"chain": {"max_block_txs": 5000}, "vm": {"max_tx_gas": "50000000"}}
    content = batara.Transaction.params_change(changes)
    r = send(a, batara.Transaction.propose("bigger blocks", content, deposit, summary="more room"))
    assert r["receipt"]["status"] == "success", r
    statuses = [dict(e["attributes"])["status"] for e in r["receipt"]["events"] if e["kind"] == "proposal_status"]
    assert statuses == ["deposit_period", "voting_period"], "the minimum deposit starts the vote at once"
    (p,) = api.proposals(status="voting_period")["proposals"]
    pid = int(p["id"])
    assert p["content"]["changes"] == [{"params": k, "values": v} for k, v in changes.items()]
    send(b, batara.Transaction.vote(pid, {"yes": 0.7, "no": 0.3}, fee=1))
    live = api.proposal(pid)
    assert live["deposits"] == [{"depositor": a.address, "amount": str(deposit)}]
    assert (live["current_tally"]["yes"], live["current_tally"]["no"]) == (str(21 * coin // 10), str(9 * coin // 10))
    (vote,) = api.votes(pid)["votes"]
    assert vote["voter"] == b.address and vote["power"] == str(3 * coin)
    refused = send(c, batara.Transaction.vote(pid, "yes", fee=1))["receipt"]
    assert refused["status"] == "failed" and "no stake bonded" in refused["error"]
    balance = api.account(a.address).balance
    skip = api.skip_to(voting_end=pid)
    assert int(skip["height"]) == api.height + 1
    (block,) = api.mine(1)
    done = api.proposal(pid)
    assert done["status"] == "passed", done["result"]
    assert done["tally"]["yes"] == str(21 * coin // 10)
    governed = api.gov_params()["governed"]
    assert governed["chain"]["max_block_txs"] == 5000, "in force from the next block"
    assert governed["vm"]["max_tx_gas"] == "50000000"
    assert governed["vm"]["max_code_bytes"] == 819_200, "fields not named are kept"
    assert api.account(a.address).balance == balance + deposit, "refunded"
    ended = [dict(e["attributes"]) for e in block.get("events", []) if e["kind"] == "proposal_status"]
    assert ended and ended[0]["status"] == "passed", block
    assert api.proposals(status="passed")["proposals"][0]["id"] == str(pid)
    with pytest.raises(batara.InvalidInput):
        api.skip_to(voting_end=pid)  # its vote is over
    with pytest.raises(batara.InvalidInput):
        api.skip_to()
    with pytest.raises(batara.InvalidInput):
        api.proposals(status="open")
    with pytest.raises(batara.NotFound):
        api.proposal(99)
    with pytest.raises(batara.InvalidInput):
        batara.Transaction.vote(pid, {"yes": 1.5})


def test_submit_and_wait(chain: Chain) -> None:
    api = chain.api
    a, _, c = chain.keys
    signed = batara.Transaction.transfer(c.address, 5, fee=3).sign(
        a, api.next_nonce(a.address), api.chain_id
    )
    assert api.submit(signed.raw) == signed.hash
    committed = api.wait(signed.hash, timeout=30)
    assert committed == api.transaction(signed.hash)
    assert committed["receipt"]["status"] == "success" and committed["receipt"]["fee"] == "3"
    again = batara.Transaction.transfer(c.address, 6).sign(a, 1, api.chain_id)
    assert api.submit(again.raw, wait=True, timeout=30) == again.hash
    # wait=True returned after the commit: the transaction is readable at once.
    assert api.transaction(again.hash)["receipt"]["status"] == "success"
    assert api.account(c.address).balance == DEV_BALANCE + 11
    with pytest.raises(batara.TxRejected) as e:
        api.submit(again.raw)
    assert type(e.value) is batara.TxRejected and e.value.reason == "nonce_too_low"
    assert "nonce too low: expected 2, got 1" in str(e.value)
    with pytest.raises(batara.TxRejected) as e:
        api.submit(b"\x00junk")
    assert e.value.reason == "malformed"
    with pytest.raises(TypeError):
        api.submit("0x00")  # type: ignore[arg-type]


def test_submit_batch_returns_a_hash_or_the_rejection(chain: Chain) -> None:
    api = chain.api
    a, b, _ = chain.keys
    api.transfer(a, b.address, 1)
    good = batara.Transaction.transfer(b.address, 2).sign(a, 1, api.chain_id)
    stale = batara.Transaction.transfer(b.address, 3).sign(a, 0, api.chain_id)
    other = batara.Transaction.transfer(a.address, 4).sign(b, 0, api.chain_id)
    forged = other.raw[:-1] + bytes([other.raw[-1] ^ 1])  # one bit of the signature flipped
    results = api.submit_batch([good.raw, stale.raw, forged])
    assert len(results) == 3
    assert results[0] == good.hash
    low, bad = results[1], results[2]
    assert type(low) is batara.TxRejected and low.reason == "nonce_too_low"
    assert str(low) == "transaction rejected: nonce too low: expected 1, got 0"
    assert type(bad) is batara.TxRejected and bad.reason == "bad_signature"
    assert str(bad) == "transaction rejected: bad signature"
    assert api.wait(good.hash, timeout=30)["receipt"]["status"] == "success"
    assert api.account(b.address).nonce == 0  # the forged one never ran
    assert api.submit_batch([]) == []


def test_next_nonce_counts_gap_free_pending_transactions(chain: Chain) -> None:
    api = chain.api
    a, b, _ = chain.keys
    assert api.next_nonce(a.address) == 0
    # A transaction after a gap waits in the pool but does not move the next nonce.
    future = batara.Transaction.transfer(b.address, 1).sign(a, 1, api.chain_id)
    assert api.submit(future.raw) == future.hash
    assert api.next_nonce(a.address) == 0
    # Filling the gap makes both run.
    first = batara.Transaction.transfer(b.address, 1).sign(a, 0, api.chain_id)
    api.submit(first.raw)
    api.wait(future.hash, timeout=30)
    assert api.next_nonce(a.address) == api.account(a.address).nonce == 2


def test_next_nonce_counts_pending_transactions(manual: Chain) -> None:
    api = manual.api
    a, b, _ = manual.keys
    for n in range(3):
        tx = batara.Transaction.transfer(b.address, 1).sign(a, api.next_nonce(a.address), api.chain_id)
        api.submit(tx.raw)
        assert api.next_nonce(a.address) == n + 1
    assert api.account(a.address).nonce == 0 and api.info()["mempool_txs"] == 3
    (blk,) = api.mine()
    assert len(blk["txs"]) == 3
    assert api.account(a.address).nonce == api.next_nonce(a.address) == 3


def test_dev_controls(manual: Chain) -> None:
    api = manual.api
    a, b, _ = manual.keys
    snap = api.snapshot()
    assert isinstance(snap, int)
    h = api.transfer(a, b.address, 7, wait=False)
    blocks = api.mine(2)
    assert [int(x["header"]["height"]) for x in blocks] == [1, 2]
    assert blocks == [api.block(1), api.block(2)]
    assert [t["hash"] for t in blocks[0]["txs"]] == [h]
    assert api.height == 2
    api.revert(snap)
    assert api.height == 0
    with pytest.raises(batara.NotFound):
        api.transaction(h)
    api.set_balance(b.address, 42)
    assert api.account(b.address).balance == 42 and api.height == 1
    assert api.increase_time(1000) == 1000
    assert api.increase_time(500) == 1500
    with pytest.raises(batara.NotFound):
        api.revert(snap)  # used up


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda api: api.transaction("0x" + "00" * 32), batara.NotFound),
        (lambda api: api.block(10_000), batara.NotFound),
        (lambda api: api.header(10_000), batara.NotFound),
        (lambda api: api.receipts(10_000), batara.NotFound),
        (lambda api: api.account(batara.Keypair.generate().address, 10_000), batara.NotFound),
        (lambda api: api.validator(batara.Keypair.generate().address), batara.NotFound),
        (lambda api: api.account("bat1notanaddress"), batara.InvalidInput),
        (lambda api: api.account("cosmos1xyz"), batara.InvalidInput),
        (lambda api: api.proof("bat1nope"), batara.InvalidInput),
        (lambda api: api.next_nonce("nope"), batara.InvalidInput),
        (lambda api: api.validator("bat1nope"), batara.InvalidInput),
        (lambda api: api.account_page("bat1nope"), batara.InvalidInput),
        (lambda api: api.account_page(None, 0), batara.InvalidInput),
        (lambda api: api.transaction("0x1234"), batara.InvalidInput),
        (lambda api: api.block("0x1234"), batara.InvalidInput),
    ],
    ids=lambda x: "" if callable(x) else x.__name__,
)
def test_errors_are_the_same_class(chain: Chain, call: object, error: type[Exception]) -> None:
    assert callable(call)
    with pytest.raises(batara.BataraError) as e:
        call(chain.api)
    assert type(e.value) is error, e.value


def test_transfer_checks_its_arguments(chain: Chain) -> None:
    api = chain.api
    a = chain.keys[0]
    with pytest.raises(batara.InvalidInput):
        api.transfer(a, "bat1nope", 1)
    with pytest.raises(batara.InvalidInput):
        api.transfer(a, a.address, -1)
    with pytest.raises(batara.InvalidInput):
        api.transfer(a, a.address, 2**128)
    with pytest.raises(batara.InvalidInput):
        api.transfer(a, a.address, 1.5)  # type: ignore[arg-type]
    poor = batara.Keypair.generate()
    with pytest.raises(batara.TxRejected) as e:
        api.transfer(poor, a.address, 1, wait=False)
    assert e.value.reason == "insufficient_balance"
    assert api.next_nonce(a.address) == 0  # nothing was submitted


def test_node_and_client_give_equal_results() -> None:
    """The same reads through both, on one chain: equal results, not only equal shapes."""
    with batara.Node.dev(accounts=3, rpc_addr="127.0.0.1:0") as node:
        assert node.rpc_url is not None
        client = batara.Client(node.rpc_url)
        a, b, _ = node.accounts
        h = client.transfer(a, b.address, 10, fee=1)
        height = int(node.transaction(h)["height"])
        assert client.info() == node.info()
        assert (client.chain_id, client.height) == (node.chain_id, node.height)
        for read in (
            lambda s: s.block(height),
            lambda s: s.header(height),
            lambda s: s.receipts(height),
            lambda s: s.transaction(h),
            lambda s: fields(s.account(a.address)),
            lambda s: s.account_page(None, 3),
            lambda s: s.proof(b.address),
            lambda s: s.validators(),
            lambda s: s.validator(s.validators()[0]["address"]),
            lambda s: s.next_nonce(a.address),
        ):
            assert read(client) == read(node)
        stale = batara.Transaction.transfer(b.address, 1).sign(a, 0, node.chain_id).raw
        (from_client,), (from_node,) = client.submit_batch([stale]), node.submit_batch([stale])
        assert isinstance(from_client, batara.TxRejected) and isinstance(from_node, batara.TxRejected)
        assert (str(from_client), from_client.reason) == (str(from_node), from_node.reason)
