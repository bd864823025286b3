"""The agents' own ``/metrics`` (Prometheus text format 0.0.4), served when ``[metrics] addr`` is
set in ``agents.toml``:

* ``batara_agents_alerts_active{severity}`` — active alerts by severity (every severity listed,
  0 included, so a rule on "no critical alert" has a series to read);
* ``batara_agents_checks_total{agent}`` — runs of each agent (``monitor``, ``security``,
  ``supervisor``, ``backups``);
* ``batara_agents_rpc_calls_total{agent}`` — JSON-RPC calls made to the nodes (their cost);
* ``batara_agents_anomaly_score`` / ``batara_agents_anomaly_threshold`` — the model's score of
  the latest block judged and the lowest score of its history (absent until trained);
* ``batara_agents_model_training_seconds`` — how long training took;
* ``batara_agents_process_restarts_total{process}`` — restarts made by the supervisor.

Must never: block a check (it reads counters only) or serve anything but ``/metrics``.
"""

from __future__ import annotations

import http.server
import threading
from typing import Any, Callable

from batara.agents.alerts import AlertBook, Severity
from batara.agents.monitor import MonitorAgent
from batara.agents.security import SecurityAgent
from batara.agents.supervisor import Supervisor


class Counters:
    """Runs of each agent (written by the run loop, read by the server)."""

    def __init__(self) -> None:
        self.checks = {"monitor": 0, "security": 0, "supervisor": 0, "backups": 0}


def render(
    book: AlertBook,
    monitor: MonitorAgent,
    security: SecurityAgent,
    supervisor: Supervisor,
    counters: Counters,
) -> str:
    """The exposition text (see the module docs)."""
    out: list[str] = []

    def family(name: str, kind: str, help_: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{labels} {value:g}" for labels, value in samples)

    active = book.active()
    family(
        "batara_agents_alerts_active", "gauge", "Active alerts by severity.",
        [(f'{{severity="{s.value}"}}', sum(a.severity is s for a in active)) for s in Severity],
    )  # fmt: skip
    family(
        "batara_agents_checks_total", "counter", "Runs of each agent.",
        [(f'{{agent="{k}"}}', v) for k, v in counters.checks.items()],
    )  # fmt: skip
    family(
        "batara_agents_rpc_calls_total", "counter", "JSON-RPC calls made to the nodes.",
        [('{agent="monitor"}', monitor.calls), ('{agent="security"}', security.calls)],
    )  # fmt: skip
    if security.model is not None:
        if security.last_score is not None:
            family(
                "batara_agents_anomaly_score", "gauge",
                "Isolation-forest score of the latest block judged (lower is stranger).",
                [("", security.last_score)],
            )  # fmt: skip
        family(
            "batara_agents_anomaly_threshold", "gauge",
            "Lowest score of a block of the training history.", [("", security.model.threshold)],
        )  # fmt: skip
        family(
            "batara_agents_model_training_seconds", "gauge",
            "Seconds the anomaly model took to train.", [("", security.training_seconds or 0.0)],
        )  # fmt: skip
    family(
        "batara_agents_process_restarts_total", "counter", "Restarts made by the supervisor.",
        [(f'{{process="{n}"}}', supervisor.restarts(n)) for n in supervisor.names()],
    )  # fmt: skip
    return "\n".join(out) + "\n"


class MetricsServer:
    """Serves ``text()`` at ``/metrics`` on ``addr`` (``host:port``; port 0 picks one) from a
    daemon thread; :attr:`url` is where."""

    def __init__(self, addr: str, text: Callable[[], str]) -> None:
        host, _, port = addr.rpartition(":")

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404, "only /metrics is served here")
                    return
                body = text().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
        self._server.daemon_threads = True
        h, p = self._server.server_address[:2]
        self.url = f"http://{h!s}:{p}/metrics"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stops serving."""
        self._server.shutdown()
        self._server.server_close()
