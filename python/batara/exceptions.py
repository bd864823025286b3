"""Batara's exceptions: declared once in the native module, re-exported here.

Every error is a :class:`BataraError`. :class:`TxRejected` carries ``reason``, the stable reason
code (``"nonce_too_low"``, ``"insufficient_balance"``, ``"bad_signature"``, ...).
"""

from batara._native import (
    BataraError,
    ConfigError,
    InvalidInput,
    NodeStopped,
    NotDevChain,
    NotFound,
    StorageError,
    Timeout,
    TxRejected,
)

__all__ = [
    "BataraError",
    "ConfigError",
    "InvalidInput",
    "NodeStopped",
    "NotDevChain",
    "NotFound",
    "StorageError",
    "Timeout",
    "TxRejected",
]
