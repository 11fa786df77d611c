"""An independent RFC 9162 (Certificate Transparency v2) Merkle reference, written from the RFC's definitions
(section 2.1.1 MTH, 2.1.3.1 PATH, 2.1.4.1 PROOF/SUBPROOF) with nothing but hashlib, to check the coordinator's
ledger from outside its code base.

stdin: JSON {"entries": [hex], "heads": [{"size": n, "root": hex}],
             "inclusion": [{"index": i, "size": n, "proof": [hex], "entry": hex (optional)}],
             "consistency": [{"old": m, "new": n, "proof": [hex]}]}
stdout: JSON {"heads": [bool], "inclusion": [bool], "consistency": [bool]}: each claim equals what the RFC's definitions give.
"""
import hashlib
import json
import sys


def leaf(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = split(n)
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    n = len(leaves)
    if n <= 1:
        return []
    k = split(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, complete):
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def proof(m, leaves):
    if m == 0 or m == len(leaves):
        return []
    return subproof(m, leaves, True)


def main():
    claim = json.load(sys.stdin)
    leaves = [leaf(bytes.fromhex(e)) for e in claim.get("entries", [])]
    out = {"heads": [], "inclusion": [], "consistency": []}
    for h in claim.get("heads", []):
        out["heads"].append(h["size"] <= len(leaves) and mth(leaves[:h["size"]]).hex() == h["root"])
    for c in claim.get("inclusion", []):
        i, n = c["index"], c["size"]
        ok = 0 <= i < n <= len(leaves) and [p.hex() for p in path(i, leaves[:n])] == c["proof"]
        if "entry" in c:
            ok = ok and leaf(bytes.fromhex(c["entry"])) == leaves[i]
        out["inclusion"].append(ok)
    for c in claim.get("consistency", []):
        m, n = c["old"], c["new"]
        ok = 0 <= m <= n <= len(leaves) and [p.hex() for p in proof(m, leaves[:n])] == c["proof"]
        out["consistency"].append(ok)
    json.dump(out, sys.stdout)


main()
