"""batara.Client against a node's JSON-RPC on loopback."""

import pytest

import batara


def test_client_reads_and_submits() -> None:
    with batara.Node.dev(accounts=2, rpc_addr="127.0.0.1:0") as node:
        assert node.rpc_url is not None
        c = batara.Client(node.rpc_url)
        a, b = node.accounts
        assert c.chain_id == "batara-dev"
        h = c.transfer(a, b.address, 3, fee=1)
        assert c.transaction(h)["receipt"]["status"] == "success"
        assert c.account(b.address).balance == node.account(b.address).balance
        with pytest.deprecated_call():
            assert c.account(b.address)["nonce"] == 0  # the dict it used to return
        assert c.block()["hash"] == node.block()["hash"]
        assert c.validators()[0]["voting_power"] == "1"
        signed = batara.Transaction.transfer(b.address, 1).sign(a, 0, c.chain_id)
        with pytest.raises(batara.TxRejected) as e:
            c.submit(signed.raw)
        assert e.value.reason == "nonce_too_low"
        with pytest.raises(batara.NotFound):
            c.block(999)
        with pytest.raises(batara.InvalidInput):
            c.account("nope")


def test_unreachable_node() -> None:
    with pytest.raises(batara.BataraError, match="cannot reach"):
        batara.Client("http://127.0.0.1:1", timeout=2).info()
