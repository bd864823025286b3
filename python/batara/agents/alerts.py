"""Alerts that resolve: each has a stable key, a severity, first and last seen, and a resolved
state. An :class:`AlertBook` is told, after every run of a check, the problems that check sees
now; it raises what is new, repeats what stays active every ``repeat_seconds``, and resolves what
is gone — and it keeps its state in a file, so an agent restarted while an alert is active
neither raises it again as new nor forgets to resolve it (the pain tenderduty's and PANIC's users
report most).

Owns: the alert state file (written whole, atomically, after every change) and what goes to the
sinks. Must never: send a resolved alert twice, or resolve an alert of one check because another
check ran.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Protocol


class Severity(str, enum.Enum):
    """How urgent an alert is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass
class Problem:
    """What a check sees wrong now: ``key`` names the thing (stable across runs)."""

    key: str
    severity: Severity
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Alert:
    """An alert, active or resolved. Times are Unix seconds."""

    key: str
    source: str
    severity: Severity
    summary: str
    details: dict[str, Any]
    first_seen: float
    last_seen: float
    last_sent: float
    resolved_at: Optional[float] = None

    @property
    def active(self) -> bool:
        """True until resolved."""
        return self.resolved_at is None

    def to_json(self) -> dict[str, Any]:
        """The alert as JSON (what sinks receive and the state file holds)."""
        d = dataclasses.asdict(self)
        d["severity"] = self.severity.value
        d["active"] = self.active
        return d

    @staticmethod
    def from_json(d: dict[str, Any]) -> "Alert":
        """The inverse of :meth:`to_json`."""
        return Alert(
            key=str(d["key"]),
            source=str(d["source"]),
            severity=Severity(d["severity"]),
            summary=str(d["summary"]),
            details=dict(d.get("details") or {}),
            first_seen=float(d["first_seen"]),
            last_seen=float(d["last_seen"]),
            last_sent=float(d["last_sent"]),
            resolved_at=None if d.get("resolved_at") is None else float(d["resolved_at"]),
        )


class Sink(Protocol):
    """Where alert events go: ``event`` is ``raised``, ``repeated`` or ``resolved``."""

    def send(self, event: str, alert: Alert) -> None: ...


class AlertBook:
    """The alerts of a set of checks, persisted in ``state_path`` (see the module docs).

    ``clock`` gives the time in seconds (``time.time`` unless a test drives it). Resolved alerts
    are kept for ``keep_resolved_seconds`` for the record, then dropped.
    """

    def __init__(
        self,
        state_path: Path,
        sinks: list[Sink],
        repeat_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
        keep_resolved_seconds: float = 86_400.0,
    ) -> None:
        self.state_path = Path(state_path)
        self.sinks = sinks
        self.repeat_seconds = repeat_seconds
        self.clock = clock
        self.keep_resolved_seconds = keep_resolved_seconds
        self.alerts: dict[str, Alert] = {}
        # Held while the alerts change or are read (the agents' /metrics reads from its thread).
        self._lock = threading.RLock()
        if self.state_path.exists():
            try:
                raw = json.loads(self.state_path.read_text())
                self.alerts = {a["key"]: Alert.from_json(a) for a in raw["alerts"]}
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"alert state file {self.state_path} is damaged: {e}") from e

    def active(self) -> list[Alert]:
        """The active alerts, oldest first."""
        with self._lock:
            return sorted(
                (a for a in self.alerts.values() if a.active), key=lambda a: a.first_seen
            )

    def still(self, source: str, kinds: Optional[set[str]] = None) -> list[Problem]:
        """The active alerts of ``source`` as problems (of the key prefixes ``kinds`` only, when
        given): what a check reports when it could not look this run, so that an unreachable node
        neither resolves its alerts early nor raises them again."""
        return [
            Problem(a.key, a.severity, a.summary, a.details)
            for a in self.active()
            if a.source == source and (kinds is None or a.key.split("/")[0] in kinds)
        ]

    def update(self, source: str, problems: list[Problem]) -> None:
        """What check ``source`` sees now: raises new problems, refreshes (and repeats, once
        ``repeat_seconds`` passed since the last send) active ones, resolves the active alerts of
        ``source`` that are not among ``problems``."""
        with self._lock:
            self._update(source, problems)

    def _update(self, source: str, problems: list[Problem]) -> None:
        now = self.clock()
        seen = set()
        changed = False
        for p in problems:
            seen.add(p.key)
            a = self.alerts.get(p.key)
            if a is None or not a.active:
                a = Alert(p.key, source, p.severity, p.summary, p.details, now, now, now)
                self.alerts[p.key] = a
                self._send("raised", a)
            else:
                a.last_seen, a.summary, a.details, a.severity = now, p.summary, p.details, p.severity
                if now - a.last_sent >= self.repeat_seconds:
                    a.last_sent = now
                    self._send("repeated", a)
            changed = True
        for a in list(self.alerts.values()):
            if a.source == source and a.active and a.key not in seen:
                a.resolved_at = now
                self._send("resolved", a)
                changed = True
            elif not a.active and now - (a.resolved_at or now) > self.keep_resolved_seconds:
                del self.alerts[a.key]
                changed = True
        if changed:
            self._save()

    def _send(self, event: str, alert: Alert) -> None:
        for s in self.sinks:
            s.send(event, alert)

    def _save(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"alerts": [a.to_json() for a in self.alerts.values()]}, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.state_path.parent, prefix=".alerts-")
        with os.fdopen(fd, "w") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_path)
