"""Agents that watch Batara nodes and raise alerts that resolve (``pip install 'batara[agents]'``,
``batara-agents run --config agents.toml``).

* :class:`AlertBook` — alerts with a stable key, a severity, first and last seen and a resolved
  state, persisted across restarts, sent when raised, repeated while active, resolved when the
  cause is gone (:mod:`batara.agents.alerts`).
* Sinks — :class:`StdoutSink`, :class:`FileSink`, :class:`WebhookSink` (JSON events).
* :class:`MonitorAgent` — endpoint down, stalled height, low peers, syncing, mempool backlog,
  missed blocks, jailed and tombstoned validators (:mod:`batara.agents.monitor`).
* :class:`SecurityAgent` — double signing (evidence in each node's blocks), anomalous activity
  (an isolation forest trained on the chain's own history, :mod:`batara.agents.activity`), and
  the exposure audit of each node (:mod:`batara.agents.audit`) (:mod:`batara.agents.security`).
* :class:`Supervisor` — keeps processes (``batara start``) running, restarted with backoff,
  given up on with an alert (:mod:`batara.agents.supervisor`).
* :class:`BackupAgent` — backups of running nodes, each verified by a restore, pruned by age
  (:mod:`batara.agents.backups`).
* The agents' own ``/metrics`` (:mod:`batara.agents.metrics`).
* :func:`load` — ``agents.toml`` (:mod:`batara.agents.config`).
"""

from batara.agents.alerts import Alert, AlertBook, Problem, Severity
from batara.agents.backups import BackupAgent, BackupSpec, VerifyError, verify
from batara.agents.config import AgentsConfig, ConfigError, load
from batara.agents.monitor import MonitorAgent, MonitorConfig, NodeTarget
from batara.agents.security import SecurityAgent, SecurityConfig
from batara.agents.supervisor import ProcessSpec, Supervisor
from batara.agents.sinks import FileSink, StdoutSink, WebhookSink

__all__ = [
    "Alert",
    "AlertBook",
    "BackupAgent",
    "BackupSpec",
    "AgentsConfig",
    "ConfigError",
    "FileSink",
    "MonitorAgent",
    "MonitorConfig",
    "NodeTarget",
    "Problem",
    "ProcessSpec",
    "SecurityAgent",
    "SecurityConfig",
    "Severity",
    "StdoutSink",
    "Supervisor",
    "VerifyError",
    "WebhookSink",
    "load",
    "verify",
]
