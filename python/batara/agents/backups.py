"""The backup agent (DevOps): takes backups of running nodes, verifies each by restoring it to
a fresh home, and prunes them by age.

Per ``[[backups]]`` entry (a node of ``[[nodes]]`` that sets ``backup_dir`` in its
``config.toml``, and that directory as this machine sees it):

* every ``every_seconds`` it asks the node for a backup (JSON-RPC ``node_backup``: a RocksDB
  checkpoint taken while blocks keep committing, holding whole blocks only);
* it **verifies** it: the backup is copied to a new directory (the restore), opened there as a
  home, and must hold the height its manifest names with the state root the *live* node reports
  for that height, and its state tree must give the same account proof as the live node's at
  that height; the result is written beside it (``verified.json``);
* it deletes backups older than ``keep_seconds``, never the newest verified one.

Alerts (source ``backups``): ``backup_failed/<node>`` (critical) when taking or verifying the
latest backup failed, with the cause, until a later attempt works (a failed attempt is retried
after ``every_seconds``, at least :data:`RETRY_SECONDS`); ``backup_stale/<node>`` (warning) when the newest verified
backup is older than twice ``every_seconds``.

Must never: delete anything but the ``backup-*`` directories the node wrote into ``dir`` (each
with its ``backup.json``), or call a backup verified that was not restored and checked.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from batara._native import ChainReader
from batara.agents.alerts import AlertBook, Problem, Severity
from batara.agents.monitor import NodeTarget
from batara.client import Client
from batara.exceptions import BataraError

SOURCE = "backups"
#: The file a verification writes beside the backup it checked.
VERIFIED = "verified.json"
#: The least wait before a failed backup is tried again.
RETRY_SECONDS = 60.0


@dataclass
class BackupSpec:
    """One ``[[backups]]`` table of ``agents.toml``."""

    node: str
    #: The node's ``backup_dir``, as this machine sees it.
    dir: str
    every_seconds: float = 3600.0
    keep_seconds: float = 7 * 86_400.0


class VerifyError(Exception):
    """A backup did not restore to what the node committed (the message says how)."""


def verify(backup: Path, live: Client) -> dict[str, Any]:
    """Restores ``backup`` to a fresh home and checks it (see the module docs); returns what was
    checked. Raises :class:`VerifyError` naming the mismatch."""
    manifest = json.loads((backup / "backup.json").read_text())
    height = int(manifest["height"])
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="batara-restore-") as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(backup, home, ignore=shutil.ignore_patterns(VERIFIED))
        try:
            with ChainReader(home) as copy:
                got = copy.height
                root = copy.header(height)["header"]["state_root"]
                first = copy.account_page(None, 1)["accounts"]
                proof = copy.proof(first[0]["address"], height) if first else None
        except BataraError as e:
            raise VerifyError(f"the restore of {backup} does not open: {e}") from e
    if got != height:
        raise VerifyError(f"the restore holds height {got}, its manifest says {height}")
    want = live.header(height)["header"]["state_root"]
    if root != want or manifest["state_root"] != want:
        raise VerifyError(
            f"state root at height {height}: restored {root}, manifest {manifest['state_root']}, "
            f"the node {want}"
        )
    # The restored tree answers with the very proof the live tree gives (same nodes, same root).
    if proof is not None and proof != live.proof(first[0]["address"], height):
        raise VerifyError(f"the restore's state tree differs from the node's at height {height}")
    return {
        "height": height,
        "state_root": want,
        "restore_seconds": round(time.monotonic() - t0, 3),
        "verified_at": time.time(),
    }


class BackupAgent:
    """Runs the ``[[backups]]`` entries against their nodes (see the module docs)."""

    def __init__(
        self,
        nodes: list[NodeTarget],
        specs: list[BackupSpec],
        book: AlertBook,
        clock: Callable[[], float] = time.time,
        timeout: float = 60.0,
    ) -> None:
        by_name = {n.name: n for n in nodes}
        for s in specs:
            if s.node not in by_name:
                raise ValueError(f"backups: no [[nodes]] entry named {s.node!r}")
        self.specs = specs
        self.book = book
        self.clock = clock
        self.clients = {s.node: Client(by_name[s.node].url, timeout=timeout) for s in specs}
        #: Verified backups taken by this agent, and their restore times (for the figures).
        self.verified: list[dict[str, Any]] = []
        #: Per node: when the last attempt was made and why it failed (None: it worked).
        self._attempt: dict[str, tuple[float, Optional[str]]] = {}

    def check(self) -> list[Problem]:
        """One run: due backups taken and verified, old ones pruned, the book updated."""
        out = []
        for s in self.specs:
            out += self._run(s)
        self.book.update(SOURCE, out)
        return out

    def _run(self, s: BackupSpec) -> list[Problem]:
        root, client, now = Path(s.dir), self.clients[s.node], self.clock()
        newest = _newest_verified(root)
        last = self._attempt.get(s.node)
        failed = None if last is None else last[1]
        due = newest is None or now - newest[1] >= s.every_seconds
        # After a failure, wait before asking again (every_seconds, at least RETRY_SECONDS): a
        # node whose backups this agent cannot see must not be made to write one every run.
        retry = max(s.every_seconds, RETRY_SECONDS)
        waited = last is None or last[1] is None or now - last[0] >= retry
        if due and waited:
            failed = None
            try:
                taken = client.backup()
                path = root / Path(taken["dir"]).name
                if not (path / "backup.json").exists():
                    raise VerifyError(
                        f"the node wrote {taken['dir']}, not found here as {path} (is dir the "
                        "node's backup_dir?)"
                    )
                result = verify(path, client)
                (path / VERIFIED).write_text(json.dumps(result) + "\n")
                self.verified.append({**taken, **result})
                newest = (path, int(taken["created_ms"]) / 1000)
            except (BataraError, VerifyError, OSError, KeyError, ValueError) as e:
                failed = str(e)
            self._attempt[s.node] = (now, failed)
        try:
            self._prune(root, s, now, newest)
        except OSError as e:
            failed = failed or f"pruning {root}: {e}"
        problems = []
        if failed is not None:
            problems.append(
                Problem(
                    f"backup_failed/{s.node}",
                    Severity.CRITICAL,
                    f"backup of {s.node} failed: {failed}",
                    {"node": s.node, "error": failed},
                )
            )
        if newest is None or now - newest[1] > 2 * s.every_seconds:
            age = None if newest is None else round(now - newest[1])
            problems.append(
                Problem(
                    f"backup_stale/{s.node}",
                    Severity.WARNING,
                    f"{s.node}: no verified backup "
                    + ("yet" if age is None else f"for {age} s")
                    + f" (one expected every {s.every_seconds:g} s)",
                    {"node": s.node, "age_seconds": age},
                )
            )
        return problems

    def _prune(
        self, root: Path, s: BackupSpec, now: float, keep: Optional[tuple[Path, float]]
    ) -> None:
        for d in _backups(root):
            created = _created(d)
            if created is None or (keep is not None and d == keep[0]):
                continue
            if now - created > s.keep_seconds:
                shutil.rmtree(d)


def _backups(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(d for d in root.glob("backup-*") if (d / "backup.json").is_file())


def _created(d: Path) -> Optional[float]:
    try:
        return int(json.loads((d / "backup.json").read_text())["created_ms"]) / 1000
    except (OSError, ValueError, KeyError):
        return None


def _newest_verified(root: Path) -> Optional[tuple[Path, float]]:
    best: Optional[tuple[Path, float]] = None
    for d in _backups(root):
        created = _created(d)
        if created is not None and (d / VERIFIED).is_file() and (best is None or created > best[1]):
            best = (d, created)
    return best
