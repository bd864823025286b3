"""Methods of the shared Node/Client surface that the native classes lack, written in Python.

:class:`batara.Node` (and :class:`batara.ChainReader`) stay the native classes — ``Node.dev(...)``,
``isinstance`` and everything else unchanged; this module only attaches the few methods that
:class:`batara.Client` has and the binding does not offer natively. It is imported once, by
``batara/__init__.py``; the methods are declared in ``_native.pyi`` like the native ones. Drop an
entry here when the binding gains the method itself.
"""

from __future__ import annotations

from typing import Any, Protocol, Union

from batara._native import ChainReader, Node


class _BlockReader(Protocol):
    def block(self, block: Union[int, str, None] = None) -> dict[str, Any]: ...


def header(self: _BlockReader, block: Union[int, str, None] = None) -> dict[str, Any]:
    """A block's header: ``{"hash": 0x hash, "header": {...}}``, by height, 0x hash or the latest
    (None or ``"latest"``); the shape of JSON-RPC ``chain_getHeader``. NotFound if absent."""
    b = self.block(block)
    return {"hash": b["hash"], "header": b["header"]}


for _cls in (Node, ChainReader):
    if not hasattr(_cls, "header"):
        setattr(_cls, "header", header)
del _cls
