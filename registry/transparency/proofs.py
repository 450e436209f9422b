"""Verifying Merkle proofs (RFC 9162 §2.1.3.2 and §2.1.4.2, and the subtree proofs of the
IETF Merkle Tree Certificates draft): pure, hashlib only, independent of how the tree is stored.

    verify_inclusion(leaf_hash=h, index=i, size=n, proof=p, root=r)          # or ProofError
    verify_consistency(old_size=m, new_size=n, old_root=a, new_root=b, proof=p)

A verifier trusts nothing but the root it already holds (from a signed checkpoint): the size and
the root must come from the same checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

from registry.errors import ProofError
from registry.transparency.merkle import EMPTY_ROOT, HASH_SIZE, bit_ceil, node_hash


def verify_inclusion(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``proof`` shows the leaf at ``index`` in the tree of ``size`` with ``root``.

    Raises ProofError if it does not.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    if _chain_inclusion(leaf_hash, index, size - 1, proof) != root:
        raise ProofError("the inclusion proof does not lead to the root hash")


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that ``proof`` shows the tree of ``old_size`` is a prefix of that of ``new_size``.

    Raises ProofError if it does not, and for ``old_size`` 0: a consistency proof from the
    empty tree proves nothing, so a client without a checkpoint must not ask for one.
    """
    if old_size <= 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if old_size > new_size:
        raise ProofError(f"tree size {old_size} is larger than {new_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("a consistency proof between equal tree sizes must be empty")
        if old_root != new_root:
            raise ProofError("two roots of the same tree size differ")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is perfect: its root is the seed
        path.insert(0, old_root)
    fr, sr = _chain_consistency(old_size - 1, new_size - 1, path)
    if fr != old_root:
        raise ProofError("the consistency proof does not lead to the old root hash")
    if sr != new_root:
        raise ProofError("the consistency proof does not lead to the new root hash")


def is_subtree(start: int, end: int) -> bool:
    """Whether ``[start, end)`` is a subtree in the sense of the Merkle Tree Certificates draft.

    That is ``start <= end`` and ``start`` is a multiple of the least power of two ``>= end -
    start``: the interval is one node of every tree that contains it, perfect or right edge.
    """
    return 0 <= start <= end and start % bit_ceil(end - start) == 0


def verify_subtree_inclusion(
    *, leaf_hash: bytes, index: int, start: int, end: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``proof`` shows leaf ``index`` in the subtree ``[start, end)`` with ``root``.

    Raises ProofError if it does not (draft-ietf-plants-merkle-tree-certs, subtree proofs).
    """
    if not is_subtree(start, end):
        raise ProofError(f"[{start}, {end}) is not a subtree")
    if not start <= index < end:
        raise ProofError(f"leaf {index} is not in the subtree [{start}, {end})")
    if _chain_inclusion(leaf_hash, index - start, end - start - 1, proof) != root:
        raise ProofError("the inclusion proof does not lead to the subtree hash")


def verify_subtree_consistency(
    *, start: int, end: int, size: int, proof: Sequence[bytes], subtree_root: bytes, root: bytes
) -> None:
    """Check that ``proof`` shows the subtree ``[start, end)`` in the tree of ``size`` leaves.

    Raises ProofError if it does not (draft-ietf-plants-merkle-tree-certs, subtree proofs).
    """
    if not is_subtree(start, end) or end > size:
        raise ProofError(f"[{start}, {end}) is not a subtree of a tree of {size} leaves")
    if start == end:
        if proof or subtree_root != EMPTY_ROOT:
            raise ProofError("an empty subtree has an empty proof and the empty hash")
        return
    fn, sn, tn = start, end - 1, size - 1
    if sn == tn:
        while fn != sn:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    else:
        while fn != sn and sn & 1:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    if fn == sn:  # the subtree is one node of the tree: its hash is the seed
        path = [subtree_root, *proof]
    elif proof:
        path = list(proof)
    else:
        raise ProofError("the subtree consistency proof is empty")
    fr, sr = _chain_subtree_consistency(fn, sn, tn, path)
    if fr != subtree_root:
        raise ProofError("the subtree consistency proof does not lead to the subtree hash")
    if sr != root:
        raise ProofError("the subtree consistency proof does not lead to the root hash")


def _chain_consistency(fn: int, sn: int, path: Sequence[bytes]) -> tuple[bytes, bytes]:
    # RFC 9162 §2.1.4.2 from step 3: fn is the old tree's last index, sn the new one's.
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    return fr, sr


def _chain_subtree_consistency(
    fn: int, sn: int, tn: int, path: Sequence[bytes]
) -> tuple[bytes, bytes]:
    # The draft's procedure after choosing the seed: fn and sn are the subtree's first and
    # last index, tn the tree's last, all shifted to the seed's level.
    fr = sr = path[0]
    for c in path[1:]:
        if tn == 0:
            raise ProofError("the subtree consistency proof is too long")
        if sn & 1 or sn == tn:
            if fn < sn:
                fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not sn & 1:
                fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    if tn != 0:
        raise ProofError("the subtree consistency proof is too short")
    return fr, sr


def _chain_inclusion(leaf: bytes, fn: int, sn: int, proof: Sequence[bytes]) -> bytes:
    # RFC 9162 §2.1.3.2: fn is the leaf's index, sn the last index.
    if len(leaf) != HASH_SIZE:
        # else an empty "leaf hash" would prove itself in a tree whose root is empty too
        raise ProofError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf)}")
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short")
    return r
