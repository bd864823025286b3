"""``agents.toml``: what the agents watch, their thresholds, where alerts go.

.. code-block:: toml

    state = "agents-state.json"   # alert state, relative to this file
    interval_seconds = 5          # between runs
    repeat_seconds = 300          # an active alert is sent again this often

    [[nodes]]
    name = "node0"
    url = "http://127.0.0.1:8545"
    home = "/var/lib/batara/node0"  # optional: the exposure audit reads its files

    [security]                    # every key optional (these are the defaults)
    evidence_blocks = 1000        # an evidence alert stays active this many blocks
    anomaly = true                # the anomaly model (trained on the chain's own history)
    history_blocks = 10000
    min_deviation = 3.0
    hold_blocks = 10
    audit = true                  # the exposure audit of every node

    [monitor]                     # every key optional (these are the defaults)
    stall_seconds = 30
    missed_blocks = 5
    min_peers = 1
    mempool_backlog = 10000
    validators = []               # addresses; empty: the whole set
    downtime_missed = 25          # misses in the downtime window before a warning
    expected_block_seconds = 0.0  # 0: learnt from the last 100 blocks at the first run
    interval_tolerance = 0.5
    interval_blocks = 20

    [[supervise]]                 # optional: processes kept running
    name = "node0"
    command = ["batara", "start", "--home", "node0"]
    log = "node0.log"             # relative to this file; unset: the agents' own output
    backoff_seconds = 1.0         # first restart delay, doubled per failure
    max_backoff_seconds = 60.0
    max_failures = 5              # short runs in a row before giving up
    healthy_seconds = 60.0        # a run this long resets the count

    [[backups]]                   # optional: verified backups of a node (JSON-RPC node_backup)
    node = "node0"                # a [[nodes]] name; its config.toml sets backup_dir
    dir = "/var/lib/batara/node0/backups"  # that backup_dir as this machine sees it
    every_seconds = 3600
    keep_seconds = 604800         # older backups are deleted (never the newest verified one)

    [metrics]
    addr = "127.0.0.1:9464"       # optional: the agents' own /metrics

    [[sinks]]
    type = "stdout"               # or "file" (with path = ...) or "webhook" (with url = ...)

Unknown keys are errors that name the key (a typo must not silently disable a check).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TypeVar

from batara.agents.alerts import Sink
from batara.agents.backups import BackupSpec
from batara.agents.monitor import MonitorConfig, NodeTarget
from batara.agents.security import SecurityConfig
from batara.agents.supervisor import ProcessSpec
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
    security: SecurityConfig = field(default_factory=SecurityConfig)
    supervise: list[ProcessSpec] = field(default_factory=list)
    backups: list[BackupSpec] = field(default_factory=list)
    #: ``[metrics] addr``: where the agents serve their own ``/metrics``; None: not served.
    metrics_addr: Optional[str] = None
    sinks: list[Sink] = field(default_factory=list)


def _known(table: dict[str, Any], keys: set[str], where: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})")


_T = TypeVar("_T")


def _typed(table: dict[str, Any], cls: type[_T], where: str, **required: Any) -> _T:
    """``table`` as the dataclass ``cls``: every key known, each value of its field's type (the
    default's type; ``required`` gives the fields without a default, already checked)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    _known(table, set(fields), where)
    defaults = cls(**required)
    for k, v in table.items():
        if k in required:
            continue
        default = getattr(defaults, k)
        want = type(default) if default is not None else str
        if want is float and isinstance(v, int) and not isinstance(v, bool):
            continue
        if not isinstance(v, want) or (want is int and isinstance(v, bool)):
            raise ConfigError(f"{where}.{k} must be {want.__name__}, not {v!r}")
    return cls(**{**table, **required})


def _supervised(i: int, t: dict[str, Any], base: Path) -> ProcessSpec:
    where = f"supervise[{i}]"
    cmd = t.get("command")
    if not isinstance(cmd, list) or not cmd or not all(isinstance(x, str) for x in cmd):
        raise ConfigError(f'{where}: command must be a list of strings, e.g. ["batara", "start"]')
    name = t.get("name", f"process{i}")
    if not isinstance(name, str):
        raise ConfigError(f"{where}.name must be str, not {name!r}")
    spec = _typed(t, ProcessSpec, where, name=name, command=cmd)
    spec.cwd = str(base / (spec.cwd or "."))  # relative to this file, as every path here
    spec.log = None if spec.log is None else str(base / spec.log)
    return spec


def _backup(i: int, t: dict[str, Any], base: Path) -> BackupSpec:
    where = f"backups[{i}]"
    for k in ("node", "dir"):
        if not isinstance(t.get(k), str):
            raise ConfigError(f"{where} needs {k} (a string)")
    spec = _typed(t, BackupSpec, where, node=t["node"], dir=t["dir"])
    spec.dir = str(base / spec.dir)
    return spec


def load(path: Path) -> AgentsConfig:
    """Reads and checks ``path``."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    _known(
        raw,
        {
            "state", "interval_seconds", "repeat_seconds", "nodes", "monitor", "security",
            "supervise", "backups", "metrics", "sinks",
        },  # fmt: skip
        str(path),
    )
    nodes = []
    for i, n in enumerate(raw.get("nodes", [])):
        _known(n, {"name", "url", "home"}, f"nodes[{i}]")
        if "url" not in n:
            raise ConfigError(f"nodes[{i}] needs a url")
        home = None if "home" not in n else str(path.parent / str(n["home"]))
        nodes.append(NodeTarget(str(n.get("name", f"node{i}")), str(n["url"]), home))
    if not nodes:
        raise ConfigError(f"{path}: no [[nodes]] to watch")
    monitor = _typed(raw.get("monitor", {}), MonitorConfig, "monitor")
    security = _typed(raw.get("security", {}), SecurityConfig, "security")
    supervise = [_supervised(i, t, path.parent) for i, t in enumerate(raw.get("supervise", []))]
    backups = [_backup(i, t, path.parent) for i, t in enumerate(raw.get("backups", []))]
    metrics = raw.get("metrics", {})
    _known(metrics, {"addr"}, "metrics")
    if "addr" in metrics and not (isinstance(metrics["addr"], str) and ":" in metrics["addr"]):
        raise ConfigError(f"metrics.addr must be \"host:port\", not {metrics['addr']!r}")
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
        security=security,
        supervise=supervise,
        backups=backups,
        metrics_addr=metrics.get("addr"),
        sinks=sinks,
    )
