"""The asyncio API, and Ctrl-C interrupting a blocking call."""

import asyncio
import signal
import subprocess
import sys
import time

import pytest

import batara


def test_async_node_transfers_and_streams_blocks() -> None:
    async def main() -> list[int]:
        async with await batara.AsyncNode.dev(accounts=2, mode="manual") as node:
            a, b = node.accounts
            heights: list[int] = []

            async def watch() -> None:
                async for block in node.blocks():
                    heights.append(int(block["header"]["height"]))
                    if len(heights) == 2:
                        return

            watcher = asyncio.create_task(watch())
            await asyncio.sleep(0.05)
            tx = await node.transfer(a, b.address, 5, wait=False)
            await node.mine(2)
            info = await node.wait(tx, timeout=10)
            assert info["receipt"]["status"] == "success"
            await asyncio.wait_for(watcher, 10)
            assert node.account(b.address).balance > 5
            # A pending wait is cancelled promptly.
            never = asyncio.create_task(node.wait("0x" + "11" * 32, timeout=60))
            await asyncio.sleep(0.1)
            never.cancel()
            with pytest.raises((asyncio.CancelledError, batara.NotFound)):
                await never
            return heights

    assert asyncio.run(main()) == [1, 2]


def test_ctrl_c_interrupts_a_blocking_wait() -> None:
    code = (
        "import batara, sys\n"
        "node = batara.Node.dev(mode='manual')\n"
        "print('ready', flush=True)\n"
        "try:\n"
        "    node.blocks().next()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
        "    sys.exit(7)\n"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as p:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=10) == 7
        assert time.monotonic() - t0 < 5
        assert p.stdout.read().strip() == "interrupted"


def test_async_node_has_the_shared_reads_submit_batch_and_dev_controls() -> None:
    async def main() -> None:
        async with await batara.AsyncNode.dev(accounts=2, mode="manual") as node:
            a, b = node.accounts
            good = batara.Transaction.transfer(b.address, 3).sign(a, 0, node.chain_id).raw
            stale = batara.Transaction.transfer(b.address, 3).sign(a, 0, node.chain_id).raw
            first, second = await node.submit_batch([good, stale])
            assert isinstance(first, str) and isinstance(second, batara.TxRejected)
            assert second.reason == "duplicate"
            assert node.next_nonce(a.address) == 1
            snap = await node.snapshot()
            await node.mine(1)
            assert node.header()["header"]["height"] == "1"
            assert node.info()["height"] == "1"
            p = node.proof(b.address)
            assert p["value"]["balance"] == str(node.account(b.address).balance)
            assert node.validator(node.validators()[0]["address"])["address"]
            await node.set_balance(b.address, 42)
            assert node.account(b.address).balance == 42
            assert await node.increase_time(1000) == 1000
            await node.revert(snap)
            assert node.height == 0

    asyncio.run(main())
