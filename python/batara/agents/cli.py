"""``batara-agents``: runs the agents of ``agents.toml`` until interrupted.

``batara-agents run --config agents.toml [--once]``: every ``interval_seconds`` one run of each
agent; alert events go to the configured sinks; the ``[[supervise]]`` processes are started and
kept running (and stopped when the agents stop); ``[metrics] addr`` serves the agents' own
``/metrics`` (:mod:`batara.agents.metrics`). ``--once``: a single run of the checks (exit
code 1 if an alert is active afterwards, for cron and CI); it supervises nothing.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any, Optional

from batara.agents.alerts import AlertBook
from batara.agents.backups import BackupAgent
from batara.agents.config import AgentsConfig, ConfigError, load
from batara.agents.metrics import Counters, MetricsServer, render
from batara.agents.monitor import MonitorAgent
from batara.agents.security import SecurityAgent
from batara.agents.supervisor import Supervisor


class Agents:
    """Every agent of a loaded ``agents.toml`` on one alert book: what ``batara-agents run`` runs.
    :meth:`run_once` is one run of the checks; :meth:`serve` starts the supervised processes and
    the ``/metrics`` server (when configured); :meth:`close` stops both."""

    def __init__(self, cfg: AgentsConfig) -> None:
        self.cfg = cfg
        self.book = AlertBook(cfg.state, cfg.sinks, repeat_seconds=cfg.repeat_seconds)
        self.monitor = MonitorAgent(cfg.nodes, cfg.monitor, self.book)
        self.security = SecurityAgent(cfg.nodes, cfg.security, self.book)
        self.supervisor = Supervisor(cfg.supervise, self.book)
        self.backups = BackupAgent(cfg.nodes, cfg.backups, self.book)
        self.counters = Counters()
        self.metrics: Optional[MetricsServer] = None
        self._serving = False

    def serve(self) -> None:
        """Starts the supervised processes and the metrics server."""
        self.supervisor.start()
        self._serving = True
        if self.cfg.metrics_addr is not None:
            self.metrics = MetricsServer(self.cfg.metrics_addr, self.metrics_text)

    def run_once(self) -> None:
        """One run of each agent. An agent that fails is reported on stderr and the others still
        run (the supervised nodes must not stop because a check tripped); the supervisor runs
        only once :meth:`serve` started its processes."""
        agents: list[tuple[str, Any]] = [
            ("monitor", self.monitor), ("security", self.security), ("backups", self.backups),
        ]  # fmt: skip
        if self._serving:
            agents.append(("supervisor", self.supervisor))
        for name, agent in agents:
            try:
                agent.check()
            except Exception as e:  # noqa: BLE001 - one agent's failure must not stop the rest
                print(f"batara-agents: the {name} agent failed this run: {e!r}", file=sys.stderr)
            self.counters.checks[name] += 1

    def metrics_text(self) -> str:
        """What ``/metrics`` serves now."""
        return render(self.book, self.monitor, self.security, self.supervisor, self.counters)

    def close(self) -> None:
        """Stops the metrics server and every supervised process."""
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None
        self.supervisor.stop()


def main(argv: Optional[list[str]] = None) -> None:
    """The console script."""
    p = argparse.ArgumentParser(prog="batara-agents", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the agents of a config file")
    run.add_argument("--config", required=True, type=Path, help="agents.toml")
    run.add_argument("--once", action="store_true", help="one run, then exit")
    args = p.parse_args(argv)
    try:
        agents = Agents(load(args.config))
    except (ConfigError, ValueError) as e:
        print(f"batara-agents: {e}", file=sys.stderr)
        sys.exit(2)
    if args.once:
        agents.run_once()
        sys.exit(1 if agents.book.active() else 0)
    # SIGTERM stops like Ctrl-C: through the finally below, so no child is left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        agents.serve()
        if agents.metrics is not None:
            print(f"batara-agents: metrics at {agents.metrics.url}", file=sys.stderr)
        while True:
            agents.run_once()
            time.sleep(agents.cfg.interval_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        agents.close()


if __name__ == "__main__":
    main()
