"""The Merkle tree: the shared RFC 9162 vectors, and properties of generated proofs."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.errors import NotFoundError, ProofError
from registry.transparency.merkle import (
    EMPTY_ROOT,
    Hash,
    MemoryNodeStore,
    NodeId,
    RightEdge,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    node_hash,
    prove_consistency,
    prove_inclusion,
    read_right_edge,
    right_edge,
    tree_hash,
)
from registry.transparency.proofs import (
    is_subtree,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)
from tests.externals import SHARED, require_shared

T = TypeVar("T")

VECTORS = SHARED / "vectors" / "merkle"
VECTOR_FILES = sorted(VECTORS.rglob("*.json")) if VECTORS.is_dir() else []
MAX_SIZE = 300


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    # Hypothesis drives plain functions; each example runs its coroutine on a fresh loop.
    return asyncio.run(coroutine)


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _flip(data: bytes, position: int) -> bytes:
    position %= len(data)
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_SIZE)]
STORE = MemoryNodeStore()
for _leaf in LEAVES:
    STORE.append(_leaf)


@functools.cache
def naive_root(size: int) -> Hash:
    """The root computed from all the leaves, without the stored nodes."""
    return tree_hash(LEAVES[:size])


def read_counted(coroutine: Coroutine[Any, Any, T]) -> tuple[T, int]:
    STORE.reads = 0
    result = _run(coroutine)
    return result, STORE.reads


# -- the shared vectors (transparency-dev style: happy paths and tampered proofs) --------------


def test_shared_vectors_are_present() -> None:
    require_shared("vectors/merkle")
    kinds = {path.relative_to(VECTORS).parts[0] for path in VECTOR_FILES}
    assert kinds == {"inclusion", "consistency", "subtreeinclusion", "subtreeconsistency"}
    assert len(VECTOR_FILES) == 518


def _check_vector(kind: str, v: dict[str, Any]) -> None:
    proof = [_b64(p) for p in v["proof"] or []]
    if kind == "inclusion":
        verify_inclusion(
            leaf_hash=_b64(v["leafHash"]),
            index=v["leafIdx"],
            size=v["treeSize"],
            proof=proof,
            root=_b64(v["root"]),
        )
    elif kind == "consistency":
        verify_consistency(
            old_size=v["size1"],
            new_size=v["size2"],
            old_root=_b64(v["root1"]),
            new_root=_b64(v["root2"]),
            proof=proof,
        )
    elif kind == "subtreeinclusion":
        verify_subtree_inclusion(
            leaf_hash=_b64(v["leafHash"]),
            index=v["leafIdx"],
            start=v["start"],
            end=v["end"],
            proof=proof,
            root=_b64(v["root"]),
        )
    else:
        verify_subtree_consistency(
            start=v["start"],
            end=v["end"],
            size=v["size"],
            proof=proof,
            subtree_root=_b64(v["root1"]),
            root=_b64(v["root2"]),
        )


# Without ../shared the one parameter below stands in for the 518 vectors and fails the run
# (an empty parametrize would be a silent skip; pyproject makes that a collection error too).
@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=str(p.relative_to(VECTORS))) for p in VECTOR_FILES]
    or [pytest.param(VECTORS, id="shared-vectors-absent")],
)
def test_shared_vector(path: Path) -> None:
    require_shared("vectors/merkle")
    vector = json.loads(path.read_text())
    kind = path.relative_to(VECTORS).parts[0]
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            _check_vector(kind, vector)
    else:
        _check_vector(kind, vector)


def test_tree_hash_matches_the_roots_in_the_shared_vectors() -> None:
    # The vectors are built over the classic RFC 6962 test leaves; their happy paths name the
    # root of every size they use, which pins tree_hash to an outside implementation.
    require_shared("vectors/merkle")
    data = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", bytes(range(0x40, 0x44))]
    leaves = [leaf_hash(d) for d in [*data, bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]]
    roots: dict[int, bytes] = {}
    for path in VECTORS.glob("*/*/happy-path*.json"):
        v = json.loads(path.read_text())
        if "treeSize" in v:
            roots[v["treeSize"]] = _b64(v["root"])
        if "size1" in v:
            roots[v["size1"]] = _b64(v["root1"])
            roots[v["size2"]] = _b64(v["root2"])
    assert len(roots) >= 6
    for size, root in roots.items():
        assert tree_hash(leaves[:size]) == root, size


# -- hashing ------------------------------------------------------------------------------------


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert leaf_hash(left + right) != node_hash(left, right)
    assert tree_hash([]) == EMPTY_ROOT == _b64("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
    assert tree_hash([left]) == left


# -- appending and the stored nodes -------------------------------------------------------------


@given(st.integers(0, MAX_SIZE))
def test_the_right_edge_of_every_past_size_gives_its_root(size: int) -> None:
    edge, reads = read_counted(read_right_edge(STORE, size))
    assert edge.root() == naive_root(size)
    assert reads == size.bit_count()


@given(st.integers(0, MAX_SIZE - 1))
def test_append_stores_the_leaf_and_the_perfect_subtrees_it_completes(size: int) -> None:
    edge = _run(read_right_edge(STORE, size))
    new_edge, nodes = edge.append(LEAVES[size])
    trailing_ones = (~size & (size + 1)).bit_length() - 1
    assert len(nodes) == 1 + trailing_ones
    for node in nodes:
        first = node.index << node.level
        assert first + (1 << node.level) == size + 1
        assert node.hash == tree_hash(LEAVES[first : size + 1])
    assert new_edge.root() == naive_root(size + 1)
    assert new_edge == _run(read_right_edge(STORE, size + 1))


def test_a_right_edge_must_have_one_hash_per_one_bit_of_its_size() -> None:
    with pytest.raises(ValueError, match="edge nodes"):
        RightEdge(3, (LEAVES[0],))
    assert right_edge(6) == [NodeId(2, 0), NodeId(1, 2)]


async def test_the_memory_store_refuses_nodes_it_does_not_hold() -> None:
    small = MemoryNodeStore()
    small.append(LEAVES[0])
    with pytest.raises(NotFoundError):
        await prove_inclusion(small, 0, 2)


# -- inclusion proofs ---------------------------------------------------------------------------


@st.composite
def leaf_in_tree(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_SIZE))
    return draw(st.integers(0, size - 1)), size


@given(leaf_in_tree())
def test_inclusion_proofs_verify_and_read_logarithmically_many_nodes(
    leaf: tuple[int, int],
) -> None:
    index, size = leaf
    proof, reads = read_counted(prove_inclusion(STORE, index, size))
    verify_inclusion(
        leaf_hash=LEAVES[index], index=index, size=size, proof=proof, root=naive_root(size)
    )
    assert reads <= 2 * size.bit_length()


@given(leaf_in_tree(), st.data())
def test_a_changed_byte_breaks_an_inclusion_proof(
    leaf: tuple[int, int], data: st.DataObject
) -> None:
    index, size = leaf
    proof = _run(prove_inclusion(STORE, index, size))
    root = naive_root(size)
    where = data.draw(st.integers(-2, len(proof) - 1))  # -2: the leaf hash, -1: the root
    position = data.draw(st.integers(0, 31))
    leaf_value, root_value, tampered = LEAVES[index], root, list(proof)
    if where == -2:
        leaf_value = Hash(_flip(leaf_value, position))
    elif where == -1:
        root_value = Hash(_flip(root, position))
    else:
        tampered[where] = Hash(_flip(proof[where], position))
    with pytest.raises(ProofError):
        verify_inclusion(
            leaf_hash=leaf_value, index=index, size=size, proof=tampered, root=root_value
        )


@given(leaf_in_tree(), st.integers(0, 2 * MAX_SIZE))
def test_an_inclusion_proof_does_not_prove_another_index(leaf: tuple[int, int], other: int) -> None:
    index, size = leaf
    if other == index:
        other = index + size
    proof = _run(prove_inclusion(STORE, index, size))
    with pytest.raises(ProofError):
        verify_inclusion(
            leaf_hash=LEAVES[index], index=other, size=size, proof=proof, root=naive_root(size)
        )


def _sibling_sides(index: int, size: int) -> list[bool]:
    """For each proof hash, whether it lies right of the leaf: the shape of the path."""
    plan = inclusion_plan(index, size)
    firsts, start = [], 0
    for count in plan.group_sizes:
        node = plan.node_ids[start]
        firsts.append(node.index << node.level)
        start += count
    return [first > index for first in firsts]


@given(leaf_in_tree(), st.integers(1, 2 * MAX_SIZE))
def test_an_inclusion_proof_passes_for_another_size_only_along_the_same_path(
    leaf: tuple[int, int], other: int
) -> None:
    index, size = leaf
    proof = _run(prove_inclusion(STORE, index, size))
    try:
        verify_inclusion(
            leaf_hash=LEAVES[index], index=index, size=other, proof=proof, root=naive_root(size)
        )
    except ProofError:
        return
    assert index < other
    assert _sibling_sides(index, other) == _sibling_sides(index, size)


def test_the_root_binds_the_size_only_through_the_signed_checkpoint() -> None:
    # RFC 9162 as it is: leaf 0's path in a tree of 8 has the same shape as in a tree of 5, so
    # the proof also checks out as size 5 against the size-8 root. Verifiers must take size
    # and root together from one signed checkpoint, never the size from elsewhere.
    proof = _run(prove_inclusion(STORE, 0, 8))
    for size in (5, 8):
        verify_inclusion(leaf_hash=LEAVES[0], index=0, size=size, proof=proof, root=naive_root(8))
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash=LEAVES[0], index=0, size=4, proof=proof, root=naive_root(8))


@pytest.mark.parametrize(("index", "size"), [(0, 0), (3, 3), (-1, 4)])
def test_there_is_no_inclusion_proof_outside_the_tree(index: int, size: int) -> None:
    with pytest.raises(ProofError):
        inclusion_plan(index, size)


# -- consistency proofs -------------------------------------------------------------------------


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    new_size = draw(st.integers(1, MAX_SIZE))
    return draw(st.integers(1, new_size)), new_size


@given(two_sizes())
def test_consistency_proofs_verify_and_read_logarithmically_many_nodes(
    sizes: tuple[int, int],
) -> None:
    old_size, new_size = sizes
    proof, reads = read_counted(prove_consistency(STORE, old_size, new_size))
    verify_consistency(
        old_size=old_size,
        new_size=new_size,
        old_root=naive_root(old_size),
        new_root=naive_root(new_size),
        proof=proof,
    )
    assert reads <= 2 * new_size.bit_length()


@given(two_sizes(), st.data())
def test_a_changed_byte_breaks_a_consistency_proof(
    sizes: tuple[int, int], data: st.DataObject
) -> None:
    old_size, new_size = sizes
    proof = _run(prove_consistency(STORE, old_size, new_size))
    where = data.draw(st.integers(-2, len(proof) - 1))  # -2: the old root, -1: the new root
    position = data.draw(st.integers(0, 31))
    old_root, new_root, tampered = naive_root(old_size), naive_root(new_size), list(proof)
    if where == -2:
        old_root = Hash(_flip(old_root, position))
    elif where == -1:
        new_root = Hash(_flip(new_root, position))
    else:
        tampered[where] = Hash(_flip(proof[where], position))
    with pytest.raises(ProofError):
        verify_consistency(
            old_size=old_size,
            new_size=new_size,
            old_root=old_root,
            new_root=new_root,
            proof=tampered,
        )


@given(two_sizes(), st.integers(0, 2 * MAX_SIZE))
def test_a_consistency_proof_does_not_hold_for_another_old_size(
    sizes: tuple[int, int], other: int
) -> None:
    old_size, new_size = sizes
    if other == old_size:
        other = old_size + new_size
    proof = _run(prove_consistency(STORE, old_size, new_size))
    with pytest.raises(ProofError):
        verify_consistency(
            old_size=other,
            new_size=new_size,
            old_root=naive_root(old_size),
            new_root=naive_root(new_size),
            proof=proof,
        )


def _parts_sides(old_size: int, new_size: int) -> list[bool]:
    """For each proof hash, whether it lies beyond the old tree: the shape of the proof."""
    plan = consistency_plan(old_size, new_size)
    firsts, start = [], 0
    for count in plan.group_sizes:
        node = plan.node_ids[start]
        firsts.append(node.index << node.level)
        start += count
    return [first >= old_size for first in firsts]


@given(two_sizes(), st.integers(0, 2 * MAX_SIZE))
def test_a_consistency_proof_passes_for_another_new_size_only_with_the_same_shape(
    sizes: tuple[int, int], other: int
) -> None:
    # As with inclusion, the new root binds the new size only through the signed checkpoint.
    old_size, new_size = sizes
    if other == new_size:
        other = 2 * new_size
    proof = _run(prove_consistency(STORE, old_size, new_size))
    try:
        verify_consistency(
            old_size=old_size,
            new_size=other,
            old_root=naive_root(old_size),
            new_root=naive_root(new_size),
            proof=proof,
        )
    except ProofError:
        return
    assert old_size < other
    assert old_size < new_size
    assert _parts_sides(old_size, other) == _parts_sides(old_size, new_size)


def test_there_is_no_consistency_proof_from_the_empty_tree_or_backwards() -> None:
    for old_size, new_size in [(0, 4), (5, 4), (-1, 3)]:
        with pytest.raises(ProofError):
            consistency_plan(old_size, new_size)
    assert consistency_plan(4, 4).node_ids == ()


# -- subtree proofs (the Merkle Tree Certificates draft) -----------------------------------------


@st.composite
def subtree_leaf(draw: st.DrawFn) -> tuple[int, int, int]:
    level = draw(st.integers(0, 8))
    start = draw(st.integers(0, (MAX_SIZE >> level) - 1)) << level
    end = draw(st.integers(start + 1, min(start + (1 << level), MAX_SIZE)))
    return draw(st.integers(start, end - 1)), start, end


@given(subtree_leaf())
def test_subtree_inclusion_proofs_are_inclusion_proofs_within_the_subtree(
    leaf: tuple[int, int, int],
) -> None:
    index, start, end = leaf
    assert is_subtree(start, end)
    subtree = MemoryNodeStore()
    for hash_ in LEAVES[start:end]:
        subtree.append(hash_)
    proof = _run(prove_inclusion(subtree, index - start, end - start))
    root = tree_hash(LEAVES[start:end])
    verify_subtree_inclusion(
        leaf_hash=LEAVES[index], index=index, start=start, end=end, proof=proof, root=root
    )
    with pytest.raises(ProofError):
        verify_subtree_inclusion(
            leaf_hash=LEAVES[index], index=index, start=start, end=end, proof=proof, root=EMPTY_ROOT
        )


@given(two_sizes())
def test_a_consistency_proof_is_a_subtree_consistency_proof_of_the_prefix(
    sizes: tuple[int, int],
) -> None:
    old_size, new_size = sizes
    proof = _run(prove_consistency(STORE, old_size, new_size))
    verify_subtree_consistency(
        start=0,
        end=old_size,
        size=new_size,
        proof=proof,
        subtree_root=naive_root(old_size),
        root=naive_root(new_size),
    )


def test_subtrees_are_aligned_to_their_size() -> None:
    assert is_subtree(8, 13)
    assert is_subtree(5, 5)
    assert not is_subtree(4, 13)
    assert not is_subtree(3, 5)
