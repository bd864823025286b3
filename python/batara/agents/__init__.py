"""Agents that watch Batara nodes and raise alerts that resolve (``pip install 'batara[agents]'``,
``batara-agents run --config agents.toml``).

* :class:`AlertBook` — alerts with a stable key, a severity, first and last seen and a resolved
  state, persisted across restarts, sent when raised, repeated while active, resolved when the
  cause is gone (:mod:`batara.agents.alerts`).
* Sinks — :class:`StdoutSink`, :class:`FileSink`, :class:`WebhookSink` (JSON events).
* :class:`MonitorAgent` — endpoint down, stalled height, low peers, syncing, mempool backlog,
  missed blocks, jailed and tombstoned validators (:mod:`batara.agents.monitor`).
* :func:`load` — ``agents.toml`` (:mod:`batara.agents.config`).

The security and DevOps agents of the agents issue (anomaly model, exposure audit, backups,
supervision) are not built yet.
"""

from batara.agents.alerts import Alert, AlertBook, Problem, Severity
from batara.agents.config import AgentsConfig, ConfigError, load
from batara.agents.monitor import MonitorAgent, MonitorConfig, NodeTarget
from batara.agents.sinks import FileSink, StdoutSink, WebhookSink

__all__ = [
    "Alert",
    "AlertBook",
    "AgentsConfig",
    "ConfigError",
    "FileSink",
    "MonitorAgent",
    "MonitorConfig",
    "NodeTarget",
    "Problem",
    "Severity",
    "StdoutSink",
    "WebhookSink",
    "load",
]
