"""``batara-agents``: runs the agents of ``agents.toml`` until interrupted.

``batara-agents run --config agents.toml [--once]``: every ``interval_seconds`` one run of each
agent; alert events go to the configured sinks. ``--once``: a single run (exit code 1 if an alert
is active afterwards, for cron and CI).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional

from batara.agents.alerts import AlertBook
from batara.agents.config import ConfigError, load
from batara.agents.monitor import MonitorAgent


def main(argv: Optional[list[str]] = None) -> None:
    """The console script."""
    p = argparse.ArgumentParser(prog="batara-agents", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the agents of a config file")
    run.add_argument("--config", required=True, type=Path, help="agents.toml")
    run.add_argument("--once", action="store_true", help="one run, then exit")
    args = p.parse_args(argv)
    try:
        cfg = load(args.config)
        book = AlertBook(cfg.state, cfg.sinks, repeat_seconds=cfg.repeat_seconds)
    except (ConfigError, ValueError) as e:
        print(f"batara-agents: {e}", file=sys.stderr)
        sys.exit(2)
    monitor = MonitorAgent(cfg.nodes, cfg.monitor, book)
    try:
        while True:
            monitor.check()
            if args.once:
                sys.exit(1 if book.active() else 0)
            time.sleep(cfg.interval_seconds)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
