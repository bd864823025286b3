"""Contracts from Python, the same assertions on the embedded Node and on a Client over JSON-RPC:
the AssemblyScript token of examples/contracts/token (compiled with asc here) is uploaded,
instantiated and called through ``Contract``; queries, events, gas estimates, storage proofs
and failures (CallFailed with the contract's message) are checked."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Iterator, Union

import pytest

import batara

TOKEN_DIR = Path(__file__).resolve().parents[2] / "examples" / "contracts" / "token"
Api = Union[batara.Node, batara.Client]


@pytest.fixture(scope="session")
def token_wasm() -> bytes:
    npm = shutil.which("npm")
    assert npm is not None, "npm is needed to build the example token"
    if not (TOKEN_DIR / "node_modules" / ".bin" / "asc").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TOKEN_DIR, check=True)
    subprocess.run([npm, "run", "--silent", "build"], cwd=TOKEN_DIR, check=True)
    return (TOKEN_DIR / "build" / "token.wasm").read_bytes()


@pytest.fixture(params=["node", "client"])
def chain(request: pytest.FixtureRequest) -> Iterator[tuple[Api, list[batara.Keypair]]]:
    with batara.Node.dev(accounts=2, rpc_addr="127.0.0.1:0") as node:
        assert node.rpc_url is not None
        api: Api = node if request.param == "node" else batara.Client(node.rpc_url)
        yield api, node.accounts


def test_token_through_the_contract_handle(chain: tuple[Api, list[batara.Keypair]], token_wasm: bytes) -> None:
    api, (alice, bob) = chain
    code_hash = api.upload(alice, token_wasm)
    assert code_hash == "0x" + hashlib.sha256(token_wasm).hexdigest()
    assert api.code(code_hash)["size"] == len(token_wasm)
    token = api.instantiate(alice, code_hash, {"name": "Py", "symbol": "PY", "supply": "1000"}, salt=b"py")
    assert token.info()["creator"] == alice.address
    assert token.query("symbol") == "PY"
    assert token.query("balance_of", {"owner": alice.address}) == "1000"

    # A dev chain's minimum gas price is 0; paying 3 per gas costs exactly the gas used.
    r = token.call("transfer", {"to": bob.address, "amount": "250"}, gas_price=3)
    assert r["gas_used"] > 0 and r["fee"] == 3 * r["gas_used"]
    ev = [e for e in r["events"] if e["kind"] == "contract"]
    assert ev == [{
        "kind": "contract",
        "contract": token.address,
        "topics": ["transfer"],
        "data": {"from": alice.address, "to": bob.address, "amount": "250"},
    }]
    assert token.query("balance_of", {"owner": bob.address}) == "250"
    # Its trace (dev nodes keep them): the token's host calls, the sender's balance key read.
    tr = api.trace(r["hash"])
    assert int(tr["gas_used"]) == int(r["gas_used"]) and tr["status"] == "success"
    hosts = [c["host"] for c in tr["calls"]]
    assert "storage_set" in hosts and hosts[-1] == "emit"
    assert all(c["depth"] == 1 and c["contract"] == token.address for c in tr["calls"])
    with pytest.raises(batara.NotFound):
        api.trace("0x" + "00" * 32)

    # bob approves alice, who spends within the allowance; past it the call fails and costs gas.
    bob_token = api.contract(token.address, signer=bob)
    bob_token.call("approve", {"spender": alice.address, "amount": "100"})
    token.call("transfer_from", {"from": bob.address, "to": alice.address, "amount": "60"})
    assert token.query("allowance", {"owner": bob.address, "spender": alice.address}) == "40"
    with pytest.raises(batara.CallFailed, match="allowance exceeded: 40 < 41"):
        token.call("transfer_from", {"from": bob.address, "to": alice.address, "amount": "41"})
    before = api.account(alice.address).balance
    with pytest.raises(batara.CallFailed, match="insufficient balance") as failed:
        token.call("transfer", {"to": bob.address, "amount": "999999"}, gas=200_000, gas_price=2)
    receipt = failed.value.receipt
    assert receipt is not None and receipt["status"] == "failed"
    assert int(receipt["fee"]) == 2 * int(receipt["gas_used"]) > 0
    assert api.account(alice.address).balance == before - int(receipt["fee"])
    with pytest.raises(batara.CallFailed, match="missing argument owner"):
        token.query("balance_of", {})

    # Storage: the balance slot ('b' + address bytes) holds bob's u64, 250 - 60.
    raw = token.storage(b"b" + hashlib.sha256(bob.public_key).digest()[:20])
    assert raw is not None and int.from_bytes(raw, "little") == 190
    assert token.storage(b"nothing here") is None
    est = api.estimate_gas(alice.address, json.dumps(batara.Transaction.call(token.address, "transfer", {"to": bob.address, "amount": "1"}).kind))
    assert est["error"] is None and int(est["gas_used"]) > 10_000

    # The analysis tables of calls and events, with both backends.
    import batara.analysis as ba

    calls = ba.contract_calls(api)
    assert list(calls.kind) == ["instantiate", "call", "call", "call", "call"]
    assert list(calls.method) == ["init", "transfer", "approve", "transfer_from", "transfer"]
    assert set(calls.contract) == {token.address}
    assert list(calls.status) == ["success"] * 4 + ["failed"]
    assert "insufficient balance" in calls.error.iloc[-1]
    assert calls.gas_used.iloc[1] == r["gas_used"]
    ev = ba.events(api)
    assert list(ev.topic) == ["transfer", "transfer", "approval", "transfer"]
    assert json.loads(ev.data.iloc[1]) == {"from": alice.address, "to": bob.address, "amount": "250"}
    assert json.loads(ev.topics.iloc[2]) == ["approval"]
    arrow = ba.contract_calls(api, backend="pyarrow")
    assert int(arrow.gas_limit.iloc[-1]) == 200_000


def test_bad_input_is_refused_with_the_cause(chain: tuple[Api, list[batara.Keypair]]) -> None:
    api, (alice, _) = chain
    with pytest.raises(batara.CallFailed, match="code rejected: invalid WebAssembly"):
        api.upload(alice, b"not wasm")
    with pytest.raises(batara.NotFound):
        api.contract_info(batara.Keypair.from_seed(b"\x05" * 32).address)
    with pytest.raises(batara.InvalidInput):
        batara.Transaction.upload(b"\0asm", -1, 0)
