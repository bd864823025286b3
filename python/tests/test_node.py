"""The embedded node through the Python binding."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

import batara


def test_transfer_balances_receipt_and_block() -> None:
    with batara.Node.dev(accounts=3) as node:
        a, b = node.accounts[0], node.accounts[1]
        assert len(node.accounts) == 3
        before = node.account(b.address).balance
        h = node.transfer(a, b.address, 1_000, fee=2)
        assert node.account(b.address).balance == before + 1_000
        assert node.account(a.address).nonce == 1
        tx = node.transaction(h)
        assert tx["receipt"]["status"] == "success" and tx["receipt"]["fee"] == "2"
        blk = node.block(int(tx["height"]))
        assert blk["txs"][0]["hash"] == h
        assert node.block(blk["hash"])["hash"] == blk["hash"]
        assert node.block()["hash"] == node.block("latest")["hash"]
        assert node.height >= 1
        assert node.validators()[0]["voting_power"] == "1"
        p = node.proof(a.address)
        assert p["state_root"] == node.block(int(p["height"]))["header"]["state_root"]
    assert node.stopped


def test_rejections_carry_a_reason() -> None:
    node = batara.Node.dev(accounts=2, mode="manual")
    a, b = node.accounts
    signed = batara.Transaction.transfer(b.address, 5).sign(a, 0, node.chain_id)
    assert node.submit(signed.raw) == signed.hash
    with pytest.raises(batara.TxRejected) as e:
        node.submit(signed.raw)
    assert e.value.reason == "duplicate"
    other = batara.Transaction.transfer(b.address, 5).sign(a, 1, "other-chain")
    with pytest.raises(batara.TxRejected, match="wrong chain id") as e:
        node.submit(other.raw)
    assert e.value.reason == "wrong_chain_id"
    with pytest.raises(batara.TxRejected) as e:
        node.submit(b"\x00garbage")
    assert e.value.reason == "malformed"
    poor = batara.Keypair.from_seed(bytes(32))
    with pytest.raises(batara.TxRejected) as e:
        node.transfer(poor, a.address, 1, wait=False)
    assert e.value.reason == "insufficient_balance"
    node.mine()
    with pytest.raises(batara.TxRejected, match="nonce too low: expected 1, got 0"):
        node.submit(signed.raw)
    results = node.submit_batch(
        [batara.Transaction.transfer(b.address, 1).sign(a, 1, node.chain_id).raw, b"junk"]
    )
    assert isinstance(results[0], str)
    assert isinstance(results[1], batara.TxRejected) and results[1].reason == "malformed"
    node.stop()
    with pytest.raises(batara.NodeStopped):
        node.submit(signed.raw)


def test_bad_input_raises_and_never_crashes() -> None:
    with batara.Node.dev(accounts=1, mode="manual") as node:
        a = node.accounts[0]
        with pytest.raises(batara.InvalidInput, match="address"):
            node.account("bat1notanaddress")
        with pytest.raises(batara.InvalidInput):
            node.transfer(a, "cosmos1xyz", 1)
        with pytest.raises(batara.InvalidInput, match="expected an int from 0 to"):
            node.transfer(a, a.address, -1)
        with pytest.raises(batara.InvalidInput):
            node.transfer(a, a.address, 2**200)
        with pytest.raises(TypeError):
            node.transfer(a, None, 1)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            node.submit("not bytes")  # type: ignore[arg-type]
        with pytest.raises(batara.InvalidInput, match="32 bytes"):
            batara.Keypair.from_seed(b"short")
        with pytest.raises(batara.InvalidInput):
            node.transaction("0x1234")
        with pytest.raises(batara.NotFound):
            node.transaction("0x" + "00" * 32)
        with pytest.raises(batara.NotFound):
            node.block(10_000)
        with pytest.raises(batara.InvalidInput):
            batara.Node.dev(mode="sometimes")
        assert batara.verify(b"x", b"m", b"s") is False


def test_dev_controls() -> None:
    with batara.Node.dev(accounts=2, mode="manual") as node:
        a, b = node.accounts
        snap = node.snapshot()
        node.transfer(a, b.address, 7, wait=False)
        node.mine(2)
        assert node.height == 2
        node.revert(snap)
        assert node.height == 0
        node.set_balance(b.address, 42)
        assert node.account(b.address).balance == 42
        assert node.increase_time(1000) == 1000
        with pytest.raises(batara.NotFound):
            node.revert(snap)


def test_blocks_iterator_and_waiting_from_threads() -> None:
    with batara.Node.dev(accounts=2, mode="manual") as node:
        stream = node.blocks()
        t = threading.Thread(target=lambda: node.mine(3))
        t.start()
        heights = [int(next(stream)["header"]["height"]) for _ in range(3)]
        t.join()
        assert heights == [1, 2, 3]
        with pytest.raises(batara.Timeout):
            stream.next(timeout=0.1)
        with pytest.raises(batara.InvalidInput):
            stream.next(timeout=-1)
        with pytest.raises(batara.InvalidInput):
            node.wait("0x" + "00" * 32, timeout=float("nan"))


def test_persistence_and_two_nodes(tmp_path: Path) -> None:
    d1, d2 = tmp_path / "one", tmp_path / "two"
    n1 = batara.Node.dev(accounts=2, data_dir=d1)
    n2 = batara.Node.dev(accounts=2, data_dir=d2)
    a, b = n1.accounts
    n1.transfer(a, b.address, 11)
    head = n1.block()["hash"]
    assert n2.height == 0
    n1.stop()
    del n1
    gc.collect()
    again = batara.Node.dev(accounts=2, data_dir=d1)
    assert again.block()["hash"] == head
    assert again.account(b.address).balance == n2.account(b.address).balance + 11
    again.stop()
    n2.stop()


def test_a_backup_of_a_running_node_opens_and_restores(tmp_path: Path) -> None:
    node = batara.Node.dev(accounts=2, data_dir=tmp_path / "live")
    a, b = node.accounts
    node.transfer(a, b.address, 11)
    info = node.backup(tmp_path / "backup")
    node.transfer(a, b.address, 5)  # the node goes on; the backup keeps its height
    assert int(info["height"]) == node.height - 1
    live = node.header(int(info["height"]))["header"]
    assert info["state_root"] == live["state_root"] and info["dir"] == str(tmp_path / "backup")
    with batara.ChainReader(tmp_path / "backup") as copy:  # a home, read-only
        assert copy.height == int(info["height"])
        assert copy.account(b.address).balance == node.account(b.address, int(info["height"])).balance
    with pytest.raises(batara.InvalidInput, match="already exists"):
        node.backup(tmp_path / "backup")
    with pytest.raises(batara.InvalidInput, match="backup_dir"):
        node.backup()
    node.stop()
    # Restored: a node started on the backup's data resumes at its block.
    restored = batara.Node.dev(accounts=2, data_dir=tmp_path / "backup" / "data")
    assert restored.block()["hash"] == info["hash"]
    restored.stop()
    with batara.Node.dev(accounts=1) as mem, pytest.raises(batara.InvalidInput, match="in-memory"):
        mem.backup(tmp_path / "mem")


def test_evidence_is_for_bft_nodes_and_is_checked() -> None:
    with batara.Node.dev(accounts=1, rpc_addr="127.0.0.1:0") as node:
        a = node.accounts[0]
        vote = {"kind": "prevote", "height": "1", "round": 0, "block_hash": "0x" + "11" * 32,
                "validator": a.address, "signature": "0x" + "00" * 64}
        fake = {"vote_a": vote, "vote_b": {**vote, "block_hash": "0x" + "22" * 32}}
        assert node.rpc_url is not None
        for api in (node, batara.Client(node.rpc_url)):
            with pytest.raises(batara.InvalidInput, match="takes no evidence"):
                api.submit_evidence(fake)
            with pytest.raises(batara.InvalidInput, match="vote_a, vote_b"):
                api.submit_evidence({"vote_a": 1})


def test_dropping_a_node_stops_it(tmp_path: Path) -> None:
    node = batara.Node.dev(data_dir=tmp_path / "d")
    del node
    gc.collect()
    # The data directory is free again: a new node can open it.
    batara.Node.dev(data_dir=tmp_path / "d").stop()


def test_start_from_config_and_genesis_dicts_and_files(tmp_path: Path) -> None:
    key = batara.Keypair.generate()
    alice = batara.Keypair.generate()
    genesis = {
        "chain_id": "py-chain",
        "genesis_time": "1",
        "accounts": [{"address": alice.address, "balance": "1000"}],
        "validators": [{"pubkey": "0x" + key.public_key.hex(), "power": "1"}],
    }
    config = {"storage": {"ephemeral": True}, "rpc": {"enabled": False}}
    with batara.Node.start(config, genesis, key) as node:
        assert node.chain_id == "py-chain"
        node.transfer(alice, key.address, 10)
        assert node.account(key.address).balance == 10
        # Not a dev chain (no "dev": true): one validator runs BFT, and every dev control is refused.
        assert node.info()["engine"] == "bft"
        for control in (
            lambda: node.mine(),
            lambda: node.snapshot(),
            lambda: node.revert(0),
            lambda: node.set_balance(alice.address, 10**30),
            lambda: node.increase_time(1000),
        ):
            with pytest.raises(batara.NotDevChain, match="not a dev chain"):
                control()
        assert node.account(alice.address).balance == 990
    with pytest.raises(batara.ConfigError, match="rpcc"):
        batara.Node.start({"rpcc": {}}, genesis, key)
    with pytest.raises(batara.ConfigError, match="chain_id"):
        batara.Node.start(config, {**genesis, "chain_id": "bad id"}, key)
    with pytest.raises(batara.InvalidInput, match="validator"):
        batara.Node.start(config, genesis, None)
    (tmp_path / "config.toml").write_text('data_dir = "%s"\n[rpc]\nenabled = false\n' % (tmp_path / "data"))
    (tmp_path / "genesis.json").write_text(__import__("json").dumps(genesis))
    node = batara.Node.start(tmp_path / "config.toml", str(tmp_path / "genesis.json"), key)
    assert node.account(alice.address).balance == 1000
    node.stop()


def test_staking_transactions_and_revert() -> None:
    coin = 10**18
    with batara.Node.dev(accounts=2, mode="manual") as node:
        a = node.accounts[0]
        vk = batara.Keypair.generate()
        snap = node.snapshot()
        tx = batara.Transaction.stake(vk.public_key, 3 * coin, fee=1)
        node.submit(tx.sign(a, node.next_nonce(a.address), node.chain_id).raw)
        node.mine()
        assert node.account(a.address).staked == 3 * coin
        v = node.validator(vk.address)
        assert v["operator"] == a.address and int(v["stake"]) == 3 * coin
        assert v["jailed"] is False and v["voting_power"] == "0"  # joins the set at the epoch end
        un = batara.Transaction.unstake(vk.address, 3 * coin).sign(
            a, node.next_nonce(a.address), node.chain_id
        )
        node.submit(un.raw)
        node.mine()
        detail = node.validator(vk.address)
        assert detail["stake"] == "0" and int(detail["unbonding"][0]["amount"]) == 3 * coin
        unjail = batara.Transaction.unjail(vk.address).sign(
            a, node.next_nonce(a.address), node.chain_id
        )
        h = node.submit(unjail.raw)
        node.mine()
        assert node.transaction(h)["receipt"]["error"].endswith("is not jailed")
        # Reverting the dev chain also reverts staking state.
        node.revert(snap)
        with pytest.raises(batara.NotFound):
            node.validator(vk.address)
        assert node.account(a.address).staked == 0
        with pytest.raises(batara.InvalidInput):
            batara.Transaction.stake(b"short", 1)
        with pytest.raises(batara.InvalidInput):
            batara.Transaction.unstake("bat1nope", 1)


def test_a_follower_joins_over_the_network() -> None:
    import time

    key = batara.Keypair.generate()
    alice = batara.Keypair.generate()
    genesis = {
        "chain_id": "py-net",
        "genesis_time": "1",
        "accounts": [{"address": alice.address, "balance": "1000"}],
        "validators": [{"pubkey": "0x" + key.public_key.hex(), "power": "1"}],
        "dev": True,  # the validator runs the dev engine, the follower follows it
    }
    net = {"enabled": True, "listen": "127.0.0.1:0"}
    base = {"storage": {"ephemeral": True}, "rpc": {"enabled": False}}
    with batara.Node.start({**base, "p2p": net, "consensus": {"mode": "manual"}}, genesis, key) as v:
        v.transfer(alice, key.address, 10, wait=False)
        v.mine(3)
        deadline = time.monotonic() + 10
        while not v.info()["listen_addrs"] and time.monotonic() < deadline:
            time.sleep(0.02)
        info = v.info()
        assert info["peer_id"] and info["listen_addrs"][0].endswith(info["peer_id"])
        follower_cfg = {**base, "p2p": {**net, "bootnodes": info["listen_addrs"]}}
        with batara.Node.start(follower_cfg, genesis) as f:
            assert f.info()["engine"] == "follower" and not f.info()["is_validator"]
            while f.height < 3 and time.monotonic() < deadline + 20:
                time.sleep(0.02)
            assert f.block(3)["hash"] == v.block(3)["hash"]
            assert f.account(key.address).balance == 10
            assert f.info()["peers"] == 1


def test_transfer_pays_the_chain_minimum_fee_by_default() -> None:
    key = batara.Keypair.generate()
    alice = batara.Keypair.generate()
    genesis = {
        "chain_id": "py-fees",
        "genesis_time": "1",
        "params": {"min_fee": "5"},
        "accounts": [{"address": alice.address, "balance": "1000"}],
        "validators": [{"pubkey": "0x" + key.public_key.hex(), "power": "1"}],
    }
    config = {"storage": {"ephemeral": True}, "rpc": {"addr": "127.0.0.1:0"}}
    with batara.Node.start(config, genesis, key) as node:
        assert node.info()["min_fee"] == "5"
        h = node.transfer(alice, key.address, 10)
        assert node.transaction(h)["receipt"]["fee"] == "5"
        with pytest.raises(batara.TxRejected, match="fee too low: the minimum is 5, got 4") as e:
            node.transfer(alice, key.address, 10, fee=4)
        assert e.value.reason == "fee_too_low"
        assert node.rpc_url is not None
        client = batara.Client(node.rpc_url)
        h = client.transfer(alice, key.address, 1)
        assert client.transaction(h)["receipt"]["fee"] == "5"
