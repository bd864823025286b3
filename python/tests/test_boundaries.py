"""A new user's first hour (issue 17) in Python: every out-of-range or mistyped number is
``batara.InvalidInput`` (a ``BataraError``), never ``OverflowError``/``TypeError`` from the
extension or an aborted process; a fuzz over the numeric entry points shows it."""

from __future__ import annotations

import random
import subprocess
import sys
from typing import Any, Callable

import pytest

import batara

BAD_COUNTS = [-1, 2**32 - 1, 10_001, 2**64, 1.5, "3", True, float("nan")]


def test_out_of_range_accounts_are_refused_not_aborting() -> None:
    for accounts in BAD_COUNTS:
        with pytest.raises(batara.InvalidInput):
            batara.Node.dev(accounts=accounts)  # type: ignore[arg-type]
    # Before, accounts=2**32-1 aborted the interpreter ("memory allocation ... failed"): check in a
    # process of its own that it now exits normally with the exception.
    r = subprocess.run(
        [sys.executable, "-c", "import batara; batara.Node.dev(accounts=2**32-1)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1, r.stderr
    assert "InvalidInput: invalid input: accounts must be at most 10000" in r.stderr
    with pytest.raises(TypeError, match="acounts"):
        batara.Node.dev(acounts=2)  # type: ignore[call-arg]


def test_numbers_outside_their_range_are_invalid_input() -> None:
    for index in [-1, 1.5, 2**32, "a", None]:
        with pytest.raises(batara.InvalidInput):
            batara.dev_account(index)  # type: ignore[arg-type]
    with batara.Node.dev(accounts=2, mode="manual") as node:
        a, b = node.accounts
        for blocks in [0, *BAD_COUNTS]:
            with pytest.raises(batara.InvalidInput):
                node.mine(blocks)  # type: ignore[arg-type]
        assert len(node.mine(2)) == 2
        with pytest.raises(batara.InvalidInput) as e:
            node.transfer(a, b.address, -5)
        assert "expected an int from 0 to" in str(e.value)
        for amount in [1.5, 2**200, "5"]:
            with pytest.raises(batara.InvalidInput):
                node.transfer(a, b.address, amount)  # type: ignore[arg-type]
        for call in [
            lambda: node.account(a.address, height=-1),
            lambda: node.account_page(limit=-1),
            lambda: node.increase_time(-5),
            lambda: node.revert(-1),
            lambda: node.wait("0x" + "00" * 32, timeout="1"),
            lambda: node.set_balance(a.address, -1),
            lambda: batara.Transaction.transfer(b.address, 1).sign(a, -1, node.chain_id),
        ]:
            with pytest.raises(batara.InvalidInput):
                call()  # type: ignore[no-untyped-call]
        # A transfer awaited on a manual chain says why it times out.
        h = node.transfer(a, b.address, 1, wait=False)
        with pytest.raises(batara.Timeout, match="manual mode"):
            node.wait(h, timeout=0.05)


def test_fuzz_numeric_arguments_give_a_result_or_a_batara_error() -> None:
    rng = random.Random(17)
    edge: list[Any] = [-1, 0, 1, 2, 10_000, 10_001, 2**32 - 1, 2**32, 2**64, 2**128, -(2**70),
                       1.5, float("nan"), float("inf"), "7", "latest", None, True, b"1", [], {}]

    def pick() -> Any:
        return rng.randint(-(2**70), 2**70) if rng.random() < 0.3 else rng.choice(edge)

    with batara.Node.dev(accounts=2, mode="manual") as node:
        a, b = node.accounts
        calls: list[Callable[[Any], Any]] = [
            lambda v: node.mine(v + 10_001 if isinstance(v, int) and v > 3 else v),
            lambda v: node.account(a.address, height=v),
            lambda v: node.block(v),
            lambda v: node.receipts(v),
            lambda v: node.account_page(limit=v),
            lambda v: node.wait("0x" + "11" * 32, timeout=v),
            lambda v: node.increase_time(v),
            lambda v: node.revert(v),
            lambda v: node.validators(v),
            lambda v: node.transfer(a, b.address, v, wait=False),
            lambda v: node.transfer(a, b.address, 1, fee=v, wait=False),
            lambda v: batara.dev_account(v),
        ]
        ok = refused = 0
        for i in range(400):
            v = pick()
            try:
                calls[i % len(calls)](v)
                ok += 1
            except batara.BataraError:
                refused += 1
        assert ok > 0 and refused > 0, (ok, refused)
