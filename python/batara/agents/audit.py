"""The exposure audit: what an attacker could reach on a node, found the way an attacker (and
the operator) would — by asking the node, and, when the agent can read the node's home
(``home`` of ``[[nodes]]``), by reading its files.

From the network (every node):

* ``exposed_dev_controls/<node>`` (critical): the node reports a chain that is not a dev chain
  (``node_info.engine`` is not ``dev``) yet ``dev_snapshot`` does not answer -32022 "not a dev
  chain" — anyone who can reach it could mint and rewrite. (``dev_snapshot`` writes nothing a
  refused call could leave behind.)
* ``open_origins/<node>`` (warning): a request from a foreign web origin
  (``http://batara-audit.invalid``) gets ``Access-Control-Allow-Origin`` back: any web page a
  user of that machine opens can read and submit through the node (``rpc.allowed_origins``).
* ``public_rpc/<node>`` (warning): the node answers at a public address (the URL's host is a
  global IP).

From the home, when given:

* ``public_rpc/<node>`` also when ``[rpc] addr`` in ``config.toml`` is a wildcard (``0.0.0.0``,
  ``::``) or a global address while the agent reaches the node on loopback.
* ``key_readable/<node>/<file>`` (critical for ``validator_key.json``, warning for
  ``node_key.json``): the key file can be read or written by group or others (not mode 0600).
* ``no_sign_guard/<node>`` (critical): the node is a validator that has produced blocks, yet its
  data directory holds no double-sign guard (``sign_state.json``), or the guard is writable by
  others — a restart could sign again what it signed before.

Must never: change anything on the node or in its home, or report a node it could not reach as
safe (an unreachable node's audit alerts are kept as they are).
"""

from __future__ import annotations

import ipaddress
import json
import stat
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from batara.agents.alerts import Problem, Severity
from batara.agents.monitor import NodeTarget
from batara.client import Client
from batara.exceptions import BataraError, NotDevChain

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9 and 3.10 take tomli from the agents extra
    import tomli as tomllib

#: The foreign origin the audit sends.
PROBE_ORIGIN = "http://batara-audit.invalid"


def _is_public(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_unspecified or ip.is_global


def _origin_allowed(url: str, timeout: float) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "node_info", "params": []}).encode()
    req = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", "Origin": PROBE_ORIGIN}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            allow = resp.headers.get("Access-Control-Allow-Origin")
    except urllib.error.HTTPError as e:  # 403: the origin is refused
        with e:
            allow = e.headers.get("Access-Control-Allow-Origin")
    return allow in ("*", PROBE_ORIGIN)


def audit(node: NodeTarget, client: Client) -> tuple[Optional[list[Problem]], int]:
    """The audit of one node: its problems (None if it could not be reached) and the requests
    it took."""
    n = node.name
    out: list[Problem] = []
    requests = 1
    try:
        info = client.info()
        answered = False
        if info.get("engine") != "dev":  # a dev chain's controls are meant to answer
            requests += 1
            try:
                client.call("dev_snapshot")
                answered = True
            except NotDevChain:
                pass
            except BataraError as e:
                # No such method: not exposed. Anything else (a rate limit, a timeout) says
                # nothing either way: this node's audit is not known this run.
                if "method not found" not in str(e).lower():
                    return None, requests
        requests += 1
        origin = _origin_allowed(client.url, client.timeout)
    except (BataraError, OSError):
        return None, requests
    if answered:
        out.append(
            Problem(
                f"exposed_dev_controls/{n}",
                Severity.CRITICAL,
                f"{n} runs chain {info.get('chain_id')} (not a dev chain) but answers dev controls",
                {"node": n, "engine": info.get("engine")},
            )
        )
    if origin:
        out.append(
            Problem(
                f"open_origins/{n}",
                Severity.WARNING,
                f"{n} lets any web page call it (Access-Control-Allow-Origin for {PROBE_ORIGIN}); "
                "list the origins you trust in rpc.allowed_origins",
                {"node": n, "origin": PROBE_ORIGIN},
            )
        )
    bound = _bound_address(node)
    url_host = urlsplit(client.url).hostname or ""
    if _is_public(url_host) or (bound is not None and _is_public(bound)):
        out.append(
            Problem(
                f"public_rpc/{n}",
                Severity.WARNING,
                f"{n} serves JSON-RPC on a public address ({bound or url_host}); bind rpc.addr "
                "to 127.0.0.1 and put a proxy with authentication in front",
                {"node": n, "addr": bound or url_host},
            )
        )
    if node.home is not None:
        out += _home_problems(node, Path(node.home), info)
    return out, requests


def _config(home: Path) -> dict[str, Any]:
    try:
        return tomllib.loads((home / "config.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _bound_address(node: NodeTarget) -> Optional[str]:
    if node.home is None:
        return None
    addr = str(_config(Path(node.home)).get("rpc", {}).get("addr", "127.0.0.1:8545"))
    return addr.rsplit(":", 1)[0]


def _mode(path: Path) -> Optional[int]:
    """``path``'s mode, or None if it is not there (or cannot be read)."""
    try:
        return path.stat().st_mode
    except OSError:
        return None


def _home_problems(node: NodeTarget, home: Path, info: dict[str, Any]) -> list[Problem]:
    n = node.name
    out = []
    for name, severity in (("validator_key.json", Severity.CRITICAL), ("node_key.json", Severity.WARNING)):
        f = home / name
        st = _mode(f)
        if st is not None and st & (stat.S_IRWXG | stat.S_IRWXO):
            mode = stat.S_IMODE(st)
            out.append(
                Problem(
                    f"key_readable/{n}/{name}",
                    severity,
                    f"{n}: {f} has mode {mode:04o}; others on the machine can read the key "
                    f"(chmod 600 {f})",
                    {"node": n, "file": str(f), "mode": f"{mode:04o}"},
                )
            )
    data = _config(home).get("data_dir")
    data_dir = home / "data" if data is None else (home / str(data))
    guard = data_dir / "sign_state.json"
    if info.get("is_validator") and int(info.get("height", 0)) > 1:
        st = _mode(guard)
        if st is None:
            why = f"no double-sign guard at {guard}"
        elif st & (stat.S_IWGRP | stat.S_IWOTH):
            why = f"its double-sign guard {guard} is writable by others"
        else:
            why = ""
        if why:
            out.append(
                Problem(
                    f"no_sign_guard/{n}",
                    Severity.CRITICAL,
                    f"{n} is a validator but {why}: a restart could sign twice",
                    {"node": n, "guard": str(guard)},
                )
            )
    return out
