"""Seed corpora for the fuzz targets (fuzz/fuzz_targets), from tests/vectors/batara.json.

`python3 scripts/fuzz_seeds.py OUT_DIR` writes OUT_DIR/<target>/seed-N files.
"""
import json
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def unhex(s: str) -> bytes:
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def borsh_bytes_list(items: list[bytes]) -> bytes:
    out = struct.pack("<I", len(items))
    for b in items:
        out += struct.pack("<I", len(b)) + b
    return out


def main(out: Path) -> None:
    v = json.loads((ROOT / "tests/vectors/batara.json").read_text())
    txs = [unhex(t["signed_bytes"]) for t in v["transactions"]]
    headers = [unhex(h["borsh"]) for h in v["headers"]]
    addresses = [k["address"] for k in v["keys"]]
    seeds = {
        "tx": txs,
        "gossip_batch": [borsh_bytes_list(txs), borsh_bytes_list(txs[:1])],
        # A block starts with its header; variant 0 of a consensus message is a proposal.
        "block": headers,
        "consensus": [b"\x00" + h for h in headers] + [b"\x01" + h[:80] for h in headers],
        # CBOR: "Status", {"Blocks": {"from": 1, "max": 64}}, {"Blocks": [h'..']}.
        "sync": [
            b"\x66Status",
            b"\xa1\x66Blocks\xa2\x64from\x01\x63max\x18\x40",
            b"\xa1\x66Blocks\x81\x58" + bytes([len(headers[0])]) + headers[0],
        ],
        "rpc_params": [a.encode() for a in addresses]
        + [b"latest", b"42", b"1000000000000000000", b"0x" + b"ab" * 32]
        + [json.dumps(t["body"]["kind"]).encode() for t in v["transactions"]],
    }
    for target, items in seeds.items():
        d = out / target
        d.mkdir(parents=True, exist_ok=True)
        for i, b in enumerate(items):
            (d / f"seed-{i}").write_bytes(b)
        print(f"{target}: {len(items)} seeds")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
