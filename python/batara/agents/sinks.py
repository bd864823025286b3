"""Alert sinks: JSON lines on stdout or appended to a file, or a POST to a webhook. Each event is
one JSON object ``{"event": "raised" | "repeated" | "resolved", "alert": {...}}``.

A sink that cannot deliver (a webhook down) reports it on stderr and does not stop the agents:
the alert stays in the book and is repeated while it is active.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from batara.agents.alerts import Alert


def event_json(event: str, alert: Alert) -> dict[str, Any]:
    """The JSON object every sink sends."""
    return {"event": event, "alert": alert.to_json()}


class StdoutSink:
    """JSON lines on standard output."""

    def send(self, event: str, alert: Alert) -> None:
        print(json.dumps(event_json(event, alert)), flush=True)


class FileSink:
    """JSON lines appended to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def send(self, event: str, alert: Alert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(event_json(event, alert)) + "\n")


class WebhookSink:
    """A JSON POST to ``url`` per event."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, event: str, alert: Alert) -> None:
        body = json.dumps(event_json(event, alert)).encode()
        req = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                resp.read()
        except (urllib.error.URLError, OSError) as e:
            print(f"batara-agents: webhook {self.url} failed: {e}", file=sys.stderr)
