"""The shared cross-language vectors, checked through the Python binding."""

import json
from pathlib import Path

import batara

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"


def unhex(s: str) -> bytes:
    return bytes.fromhex(s.removeprefix("0x"))


def test_keys_and_transactions() -> None:
    v = json.loads((VECTORS / "batara.json").read_text())
    assert {t["body"]["kind"]["type"] for t in v["transactions"]} == {
        "transfer", "stake", "unstake", "unjail", "upload", "instantiate", "call",
        "delegate", "undelegate", "redelegate", "withdraw_rewards", "edit_commission",
        "propose", "deposit", "vote", "cancel_proposal",
    }
    for k in v["keys"]:
        kp = batara.Keypair.from_seed(unhex(k["seed"]))
        assert "0x" + kp.public_key.hex() == k["public_key"]
        assert kp.address == k["address"]
        assert batara.address_of(kp.public_key) == k["address"]
        sig = kp.sign(unhex(k["message"]))
        assert "0x" + sig.hex() == k["signature"]
        assert kp.verify(unhex(k["message"]), sig)
    for t in v["transactions"]:
        kp = batara.Keypair.from_seed(unhex(t["seed"]))
        body, kind, fee = t["body"], t["body"]["kind"], int(t["body"]["fee"])
        if kind["type"] == "transfer":
            tx = batara.Transaction.transfer(kind["to"], int(kind["amount"]), fee)
        elif kind["type"] == "stake":
            tx = batara.Transaction.stake(unhex(kind["validator_key"]), int(kind["amount"]), fee)
        elif kind["type"] == "unstake":
            tx = batara.Transaction.unstake(kind["validator"], int(kind["amount"]), fee)
        elif kind["type"] == "unjail":
            tx = batara.Transaction.unjail(kind["validator"], fee)
        elif kind["type"] == "delegate":
            tx = batara.Transaction.delegate(kind["validator"], int(kind["amount"]), fee)
        elif kind["type"] == "undelegate":
            tx = batara.Transaction.undelegate(kind["validator"], int(kind["amount"]), fee)
        elif kind["type"] == "redelegate":
            tx = batara.Transaction.redelegate(
                kind["src_validator"], kind["dst_validator"], int(kind["amount"]), fee
            )
        elif kind["type"] == "withdraw_rewards":
            tx = batara.Transaction.withdraw_rewards(kind.get("validator"), fee)
        elif kind["type"] == "edit_commission":
            tx = batara.Transaction.edit_commission(
                kind["validator"], kind["rate_ppm"], kind["max_rate_ppm"], kind["max_change_ppm"], fee
            )
        elif kind["type"] == "propose":
            content = kind["content"]
            if content["kind"] == "params":
                content = batara.Transaction.params_change(
                    {c["params"]: c["values"] for c in content["changes"]}
                )
            tx = batara.Transaction.propose(
                kind["title"], content, int(kind["deposit"]), kind["summary"], kind["expedited"], fee
            )
        elif kind["type"] == "deposit":
            tx = batara.Transaction.deposit(int(kind["proposal"]), int(kind["amount"]), fee)
        elif kind["type"] == "vote":
            weights = {o["option"]: o["weight_ppm"] / 1_000_000 for o in kind["options"]}
            tx = batara.Transaction.vote(int(kind["proposal"]), weights, fee)
        elif kind["type"] == "cancel_proposal":
            tx = batara.Transaction.cancel_proposal(int(kind["proposal"]), fee)
        elif kind["type"] == "upload":
            tx = batara.Transaction.upload(
                unhex(kind["code"]), int(kind["gas_limit"]), int(kind["gas_price"]), fee
            )
        elif kind["type"] == "instantiate":
            tx = batara.Transaction.instantiate(
                kind["code_hash"], json.loads(unhex(kind["args"])), unhex(kind["salt"]),
                int(kind["value"]), int(kind["gas_limit"]), int(kind["gas_price"]), fee,
            )
        else:
            assert kind["type"] == "call"
            tx = batara.Transaction.call(
                kind["contract"], kind["method"], json.loads(unhex(kind["args"])),
                int(kind["value"]), int(kind["gas_limit"]), int(kind["gas_price"]), fee,
            )
        assert tx.kind == kind
        signed = tx.sign(kp, int(body["nonce"]), body["chain_id"])
        assert "0x" + signed.raw.hex() == t["signed_bytes"]
        assert signed.hash == t["hash"]
        assert bytes(signed) == signed.raw
        # Any kind signs from its JSON alone, the same bytes as the typed builder's.
        generic = batara.Transaction(kind, fee).sign(kp, int(body["nonce"]), body["chain_id"])
        assert generic.raw == signed.raw


def test_error_kinds() -> None:
    rows = json.loads((VECTORS / "errors.json").read_text())["kinds"]
    # The binding raises, for each kind, the class the shared table names.
    assert batara._native.error_table() == rows
    for row in rows:
        cls = getattr(batara, row["python"])
        assert issubclass(cls, batara.BataraError)
    # The client maps JSON-RPC codes to the same classes (-32603 is shared: the base class).
    from batara.client import _CODES

    assert _CODES[-32020] is batara.TxRejected and _CODES[-32022] is batara.NotDevChain
    assert _CODES[-32602] is batara.InvalidInput and _CODES[-32603] is batara.BataraError


def test_wycheproof() -> None:
    w = json.loads((VECTORS / "wycheproof_ed25519_test.json").read_text())
    n = 0
    for g in w["testGroups"]:
        pk = bytes.fromhex(g["publicKey"]["pk"])
        for t in g["tests"]:
            got = batara.verify(pk, bytes.fromhex(t["msg"]), bytes.fromhex(t["sig"]))
            assert got == (t["result"] == "valid"), t["tcId"]
            n += 1
    assert n == 151
