"""``agents.toml``: what the agents watch, their thresholds, where alerts go.

.. code-block:: toml

    state = "agents-state.json"   # alert state, relative to this file
    interval_seconds = 5          # between runs
    repeat_seconds = 300          # an active alert is sent again this often

    [[nodes]]
    name = "node0"
    url = "http://127.0.0.1:8545"

    [monitor]                     # every key optional (these are the defaults)
    stall_seconds = 30
    missed_blocks = 5
    min_peers = 1
    mempool_backlog = 10000
    validators = []               # addresses; empty: the whole set

    [[sinks]]
    type = "stdout"               # or "file" (with path = ...) or "webhook" (with url = ...)

Unknown keys are errors that name the key (a typo must not silently disable a check).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batara.agents.alerts import Sink
from batara.agents.monitor import MonitorConfig, NodeTarget
from batara.agents.sinks import FileSink, StdoutSink, WebhookSink

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9 and 3.10 take tomli from the agents extra
    import tomli as tomllib


class ConfigError(ValueError):
    """``agents.toml`` is missing, malformed, or names something unknown."""


@dataclass
class AgentsConfig:
    """The parsed ``agents.toml``."""

    state: Path
    interval_seconds: float = 5.0
    repeat_seconds: float = 300.0
    nodes: list[NodeTarget] = field(default_factory=list)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    sinks: list[Sink] = field(default_factory=list)


def _known(table: dict[str, Any], keys: set[str], where: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})")


def load(path: Path) -> AgentsConfig:
    """Reads and checks ``path``."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    _known(raw, {"state", "interval_seconds", "repeat_seconds", "nodes", "monitor", "sinks"}, str(path))
    nodes = []
    for i, n in enumerate(raw.get("nodes", [])):
        _known(n, {"name", "url"}, f"nodes[{i}]")
        if "url" not in n:
            raise ConfigError(f"nodes[{i}] needs a url")
        nodes.append(NodeTarget(str(n.get("name", f"node{i}")), str(n["url"])))
    if not nodes:
        raise ConfigError(f"{path}: no [[nodes]] to watch")
    mon = raw.get("monitor", {})
    _known(mon, {f.name for f in dataclasses.fields(MonitorConfig)}, "monitor")
    try:
        monitor = MonitorConfig(**mon)
    except TypeError as e:
        raise ConfigError(f"monitor: {e}") from e
    sinks: list[Sink] = []
    for i, s in enumerate(raw.get("sinks", [{"type": "stdout"}])):
        kind = s.get("type")
        if kind == "stdout":
            _known(s, {"type"}, f"sinks[{i}]")
            sinks.append(StdoutSink())
        elif kind == "file":
            _known(s, {"type", "path"}, f"sinks[{i}]")
            sinks.append(FileSink(path.parent / str(s["path"])))
        elif kind == "webhook":
            _known(s, {"type", "url", "timeout_seconds"}, f"sinks[{i}]")
            sinks.append(WebhookSink(str(s["url"]), float(s.get("timeout_seconds", 10.0))))
        else:
            raise ConfigError(f"sinks[{i}]: type must be stdout, file or webhook, not {kind!r}")
    return AgentsConfig(
        state=path.parent / str(raw.get("state", "agents-state.json")),
        interval_seconds=float(raw.get("interval_seconds", 5.0)),
        repeat_seconds=float(raw.get("repeat_seconds", 300.0)),
        nodes=nodes,
        monitor=monitor,
        sinks=sinks,
    )
