"""The transparency log's Merkle tree (RFC 9162 §2.1): hashes, appending and proof generation.

Pure: hashlib only. Storage is reached through the `NodeReader` port, one batch per proof::

    edge = await read_right_edge(store, size)          # the tree as it stands
    edge, nodes = edge.append(leaf_hash(entry_bytes))  # nodes to store for the new leaf
    proof = await prove_inclusion(store, index, size)  # O(log n) node reads, in one batch
    proofs.verify_inclusion(leaf_hash=h, index=index, size=size, proof=proof, root=edge.root())

Verifying proofs needs none of this: it is in ``registry/proofs.py``.

Node numbering. Node ``(level, index)`` is the hash of the perfect subtree over the leaves
``[index * 2**level, (index + 1) * 2**level)``: level 0 holds the leaf hashes and
``(level + 1, i) = node_hash((level, 2i), (level, 2i + 1))``. Only perfect subtrees are stored,
each once, when its last leaf arrives: appending leaf ``n`` stores ``(0, n)`` and then
``(level, n >> level)`` for every level whose subtree leaf ``n`` completes (as many as ``n`` has
trailing one bits), so a log of ``n`` leaves stores fewer than ``2n`` nodes and never rewrites
one. A tree of ``size`` leaves is the run of perfect subtrees given by the one bits of ``size``,
largest first (its right edge, or compact range ``[0, size)``); any hash a proof needs is either
a stored node or one incomplete right-edge subtree folded from O(log n) stored nodes. The same
numbering serves every past tree size, so proofs for old checkpoints need no extra storage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NewType, Protocol

from registry.errors import NotFoundError, ProofError

Hash = NewType("Hash", bytes)
"""A 32-byte SHA-256 tree hash: a leaf hash, an interior node hash or a root."""

HASH_SIZE = 32
EMPTY_ROOT = Hash(hashlib.sha256(b"").digest())
"""The root of the empty tree, MTH({}) = SHA-256 of nothing."""


@dataclass(frozen=True, slots=True)
class NodeId:
    """A stored perfect subtree: ``2**level`` leaves starting at leaf ``index * 2**level``."""

    level: int
    index: int


@dataclass(frozen=True, slots=True)
class Node:
    """A stored perfect subtree and its hash, as `RightEdge.append` hands them out to store."""

    level: int
    index: int
    hash: Hash


class NodeReader(Protocol):
    """The port proofs read the stored nodes through."""

    async def read_nodes(self, ids: Sequence[NodeId]) -> Sequence[Hash]:
        """The hashes of the given nodes, in the order asked.

        Raises NotFoundError if one is not stored (the tree is smaller than asked).
        """
        ...


def leaf_hash(entry: bytes) -> Hash:
    """The hash of a log entry as a leaf: SHA-256(0x00 || entry)."""
    return Hash(hashlib.sha256(b"\x00" + entry).digest())


def node_hash(left: bytes, right: bytes) -> Hash:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return Hash(hashlib.sha256(b"\x01" + left + right).digest())


def tree_hash(leaves: Sequence[Hash]) -> Hash:
    """The root of a tree over these leaf hashes, computed from all of them (MTH of RFC 9162)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(tree_hash(leaves[:k]), tree_hash(leaves[k:]))


# -- appending ---------------------------------------------------------------------------------


def right_edge(size: int) -> list[NodeId]:
    """The perfect subtrees that make up a tree of ``size`` leaves, left (largest) first."""
    return _cover(0, size)


@dataclass(frozen=True, slots=True)
class RightEdge:
    """A tree of ``size`` leaves as the hashes of its `right_edge`: all that appending needs."""

    size: int
    hashes: tuple[Hash, ...]

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.hashes) != self.size.bit_count():
            raise ValueError(f"a tree of {self.size} leaves has {self.size.bit_count()} edge nodes")

    @classmethod
    def empty(cls) -> RightEdge:
        """The edge of the empty tree."""
        return cls(0, ())

    def root(self) -> Hash:
        """The root hash of the tree."""
        return _fold(self.hashes) if self.hashes else EMPTY_ROOT

    def append(self, leaf: Hash) -> tuple[RightEdge, list[Node]]:
        """The edge after appending ``leaf`` as leaf number ``size``, and the nodes to store.

        The nodes are the leaf ``(0, size)`` and every perfect subtree it completes, lowest first.
        """
        n = self.size
        nodes = [Node(0, n, leaf)]
        hashes = list(self.hashes)
        current, level = leaf, 0
        while (n >> level) & 1:  # the leaf completes the subtree one level up
            current = node_hash(hashes.pop(), current)
            level += 1
            nodes.append(Node(level, n >> level, current))
        hashes.append(current)
        return RightEdge(n + 1, tuple(hashes)), nodes


async def read_right_edge(reader: NodeReader, size: int) -> RightEdge:
    """The edge of the tree of ``size`` leaves (a past size too), read in one batch."""
    if size < 0:
        raise ProofError(f"tree size {size} is negative")
    ids = right_edge(size)
    hashes = await reader.read_nodes(ids) if ids else []
    return RightEdge(size, tuple(hashes))


# -- proof generation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProofPlan:
    """The stored nodes a proof is made of, to read in one batch, and how they fold into it.

    Proof hash ``i`` folds the next ``group_sizes[i]`` nodes (a perfect subtree, or the
    perfect subtrees of an incomplete right edge).
    """

    node_ids: tuple[NodeId, ...]
    group_sizes: tuple[int, ...]

    def assemble(self, hashes: Sequence[Hash]) -> list[Hash]:
        """The proof, given the hashes of `node_ids` in order."""
        if len(hashes) != len(self.node_ids):
            raise ValueError(f"{len(hashes)} hashes for {len(self.node_ids)} nodes")
        proof, start = [], 0
        for count in self.group_sizes:
            proof.append(_fold(hashes[start : start + count]))
            start += count
        return proof


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """The plan of the inclusion proof of leaf ``index`` in the tree of ``size`` leaves.

    Raises ProofError if the leaf is not in the tree.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    # PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1, walked from the root; the proof lists the
    # siblings from the leaf up.
    siblings = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            siblings.append((lo + k, hi))
            hi = lo + k
        else:
            siblings.append((lo, lo + k))
            lo += k
    return _plan(reversed(siblings))


def consistency_plan(old_size: int, new_size: int) -> ProofPlan:
    """The plan of the consistency proof from the tree of ``old_size`` to ``new_size`` leaves.

    Raises ProofError unless ``0 < old_size <= new_size``.
    """
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof from tree size {old_size} to {new_size}")
    # SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1, walked from the root.
    parts = []
    lo, hi, whole = 0, new_size, True
    while old_size != hi:
        k = _split(hi - lo)
        if old_size <= lo + k:
            parts.append((lo + k, hi))
            hi = lo + k
        else:
            parts.append((lo, lo + k))
            lo += k
            whole = False
    if not whole:
        parts.append((lo, hi))
    return _plan(reversed(parts))


async def prove_inclusion(reader: NodeReader, index: int, size: int) -> list[Hash]:
    """The inclusion proof of leaf ``index`` in the tree of ``size`` leaves.

    Raises ProofError if the leaf is not in the tree, NotFoundError if the log is smaller.
    """
    return await _read_plan(reader, inclusion_plan(index, size))


async def prove_consistency(reader: NodeReader, old_size: int, new_size: int) -> list[Hash]:
    """The consistency proof from the tree of ``old_size`` leaves to that of ``new_size``.

    Raises ProofError unless ``0 < old_size <= new_size``, NotFoundError if the log is smaller.
    """
    return await _read_plan(reader, consistency_plan(old_size, new_size))


async def _read_plan(reader: NodeReader, plan: ProofPlan) -> list[Hash]:
    hashes = await reader.read_nodes(plan.node_ids) if plan.node_ids else []
    return plan.assemble(hashes)


def _plan(ranges: Iterable[tuple[int, int]]) -> ProofPlan:
    ids: list[NodeId] = []
    sizes = []
    for lo, hi in ranges:
        cover = _cover(lo, hi)
        ids.extend(cover)
        sizes.append(len(cover))
    return ProofPlan(tuple(ids), tuple(sizes))


# -- tree arithmetic ----------------------------------------------------------------------------


def _split(n: int) -> int:
    """The largest power of two below ``n`` (n >= 2): where RFC 9162 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def bit_ceil(n: int) -> int:
    return 1 << (n - 1).bit_length() if n > 1 else 1


def _cover(lo: int, hi: int) -> list[NodeId]:
    """The perfect subtrees that make up the leaves ``[lo, hi)``, left to right, largest first.

    For the ranges proofs ask for (``lo`` aligned to the range's size) this is the subtree
    ``[lo, hi)`` of RFC 9162, whose hash is `_fold` of theirs.
    """
    ids = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        while lo & ((1 << level) - 1):
            level -= 1
        ids.append(NodeId(level, lo >> level))
        lo += 1 << level
    return ids


def _fold(hashes: Sequence[Hash]) -> Hash:
    """The hash of a run of perfect subtrees, largest first: the rightmost are joined first."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


# -- the in-process adapter ---------------------------------------------------------------------


class MemoryNodeStore:
    """The in-process adapter of `NodeReader`: a whole log in a dict, for tests and development.

    ``reads`` counts the node hashes read, so tests can check that proofs stay O(log n).
    """

    def __init__(self) -> None:
        self._nodes: dict[NodeId, Hash] = {}
        self._edge = RightEdge.empty()
        self.reads = 0

    @property
    def size(self) -> int:
        """The number of leaves appended."""
        return self._edge.size

    def root(self) -> Hash:
        """The root hash of the whole log."""
        return self._edge.root()

    def append(self, leaf: Hash) -> int:
        """Append a leaf hash; return its index."""
        self._edge, nodes = self._edge.append(leaf)
        for node in nodes:
            self._nodes[NodeId(node.level, node.index)] = node.hash
        return self._edge.size - 1

    async def read_nodes(self, ids: Sequence[NodeId]) -> Sequence[Hash]:
        """The hashes of the given nodes; NotFoundError if one is not stored."""
        self.reads += len(ids)
        try:
            return [self._nodes[i] for i in ids]
        except KeyError as e:
            raise NotFoundError(f"tree node {e.args[0]} is not stored") from e
