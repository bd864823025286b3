"""The supervisor (a DevOps agent): keeps processes such as ``batara start --home …`` running —
restarted with exponential backoff when they exit, given up on (with a critical alert) after
``max_failures`` short runs in a row.

* ``process_down/<name>`` (warning, source ``supervisor``): the process is not running and will
  be restarted (details: its exit code or signal, the restart count, when it restarts).
* ``gave_up/<name>`` (critical): it exited ``max_failures`` times in a row, each time within
  ``healthy_seconds`` of its start; it is not restarted again until the agent is (the alert
  resolves then, once it runs).

A run of at least ``healthy_seconds`` resets the backoff (``backoff_seconds``, doubling per
failure up to ``max_backoff_seconds``) and the failure count. Restarts are made by a thread of
their own (every 0.1 s), so a killed node is back within its backoff whatever the agents' check
interval; the alerts are updated at each :meth:`Supervisor.check`.

Must never: leave a child behind (:meth:`Supervisor.stop` sends SIGTERM, then SIGKILL after
``stop_seconds``), or restart a process faster than its backoff.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Optional

from batara.agents.alerts import AlertBook, Problem, Severity

SOURCE = "supervisor"


@dataclass
class ProcessSpec:
    """One ``[[supervise]]`` table of ``agents.toml``."""

    name: str
    command: list[str]
    cwd: Optional[str] = None
    #: Where its stdout and stderr go (appended); None: the agent's own.
    log: Optional[str] = None
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_failures: int = 5
    healthy_seconds: float = 60.0
    stop_seconds: float = 10.0


@dataclass
class _Child:
    spec: ProcessSpec
    proc: Optional[subprocess.Popen[bytes]] = None
    started: float = 0.0
    failures: int = 0
    restarts: int = 0
    restart_at: Optional[float] = None
    last_exit: Optional[int] = None
    gave_up: bool = False
    log: Optional[IO[bytes]] = field(default=None, repr=False)


class Supervisor:
    """Starts ``specs`` and keeps them running (see the module docs)."""

    def __init__(
        self, specs: list[ProcessSpec], book: AlertBook, clock: Callable[[], float] = time.monotonic
    ) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"supervised process names must be unique: {names}")
        for s in specs:
            if not s.command:
                raise ValueError(f"supervise {s.name!r}: command is empty")
            if s.max_failures < 1 or s.backoff_seconds <= 0:
                raise ValueError(f"supervise {s.name!r}: max_failures >= 1 and backoff_seconds > 0")
        self.book = book
        self.clock = clock
        self._children = {s.name: _Child(s) for s in specs}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        """Starts every process and the restart thread."""
        with self._lock:
            for c in self._children.values():
                self._spawn(c)
        self._thread = threading.Thread(target=self._loop, name="batara-supervisor", daemon=True)
        self._thread.start()

    def names(self) -> list[str]:
        """The supervised processes' names."""
        return list(self._children)

    def pid(self, name: str) -> Optional[int]:
        """The running process's pid (None while it is down)."""
        with self._lock:
            p = self._children[name].proc
            return p.pid if p is not None and p.poll() is None else None

    def restarts(self, name: str) -> int:
        """How many times ``name`` was restarted."""
        with self._lock:
            return self._children[name].restarts

    def check(self) -> list[Problem]:
        """The alerts of the module docs, updated in the book."""
        with self._lock:
            self._poll()
            out = []
            for name, c in self._children.items():
                exit_desc = _describe(c.last_exit)
                if c.gave_up:
                    out.append(
                        Problem(
                            f"gave_up/{name}",
                            Severity.CRITICAL,
                            f"{name} exited {c.failures} times in a row ({exit_desc}); not "
                            "restarted again: see its log",
                            {"process": name, "failures": c.failures, "exit": exit_desc},
                        )
                    )
                elif c.proc is None:
                    wait = max(0.0, (c.restart_at or 0.0) - self.clock())
                    out.append(
                        Problem(
                            f"process_down/{name}",
                            Severity.WARNING,
                            f"{name} exited ({exit_desc}); restart {c.restarts + 1} in {wait:.1f} s",
                            {"process": name, "exit": exit_desc, "restarts": c.restarts},
                        )
                    )
        self.book.update(SOURCE, out)
        return out

    def stop(self) -> None:
        """Stops the restart thread, then every child (SIGTERM, then SIGKILL)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            for c in self._children.values():
                if c.proc is not None and c.proc.poll() is None:
                    c.proc.send_signal(signal.SIGTERM)
                    try:
                        c.proc.wait(c.spec.stop_seconds)
                    except subprocess.TimeoutExpired:
                        c.proc.kill()
                        c.proc.wait()
                if c.log is not None:
                    c.log.close()
                    c.log = None

    def __enter__(self) -> "Supervisor":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- the restart thread ----------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            with self._lock:
                self._poll()

    def _poll(self) -> None:
        now = self.clock()
        for c in self._children.values():
            if c.proc is not None:
                code = c.proc.poll()
                if code is None:
                    continue
                c.proc, c.last_exit = None, code
                if now - c.started >= c.spec.healthy_seconds:
                    c.failures = 0  # a healthy run: the count and the backoff start over
                else:
                    c.failures += 1
                    if c.failures >= c.spec.max_failures:
                        c.gave_up = True
                        continue
                c.restart_at = now + self._delay(c)
            elif not c.gave_up and c.restart_at is not None and now >= c.restart_at:
                c.restarts += 1
                self._spawn(c)

    def _delay(self, c: _Child) -> float:
        """The backoff before the next start: doubled per short run in a row."""
        doublings = max(c.failures - 1, 0)
        return min(c.spec.backoff_seconds * 2.0**doublings, c.spec.max_backoff_seconds)

    def _spawn(self, c: _Child) -> None:
        try:
            if c.log is None and c.spec.log is not None:
                c.log = open(Path(c.spec.log), "ab")
            c.proc = subprocess.Popen(
                c.spec.command,
                cwd=c.spec.cwd,
                stdout=c.log,
                stderr=c.log,
                stdin=subprocess.DEVNULL,
            )
        except OSError as e:  # no such program, or its log cannot be opened: a failed run
            c.proc, c.last_exit = None, 127
            c.failures += 1
            c.gave_up = c.failures >= c.spec.max_failures
            c.restart_at = self.clock() + self._delay(c)
            print(f"batara-agents: cannot start {c.spec.name}: {e}", file=sys.stderr)
            return
        c.started = self.clock()
        c.restart_at = None


def _describe(code: Optional[int]) -> str:
    if code is None:
        return "running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
