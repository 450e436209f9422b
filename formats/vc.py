"""The certificate as a W3C Verifiable Credential: an Open Badges 3.0 ``OpenBadgeCredential``.

The credential follows the VC Data Model 2.0 and Open Badges 3.0; what OB 3.0 has no word for
(the three annotations, the course dates, the team, the duration) uses the terms of our own
context, ``contexts/amu-bevis-v1.jsonld``. The participant is named, and identified by a salted
SHA-256 of the CPR number, never by the CPR in clear. The proof is a Data Integrity proof with
the ``eddsa-jcs-2022`` cryptosuite (W3C vc-di-eddsa): Ed25519 over the SHA-256 hashes of the
RFC 8785 canonical proof configuration and credential::

    unsigned = build_credential(record, issuer="did:web:school.example", salt=salt)
    signed = sign_credential(unsigned, key, verification_method=vm, created=now)
    credential = verify_credential(signed, public_key)  # or InvalidSignatureError
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NewType

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from formats.errors import InvalidSignatureError, MalformedDocumentError
from formats.multibase import decode_base58btc, encode_base58btc, public_key_from_did_key
from formats.record import CertificateRecord

CanonicalJson = NewType("CanonicalJson", bytes)

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_V3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
AMU_CONTEXT = "https://amu-bevis.example/contexts/amu-bevis-v1.jsonld"
CONTEXTS = (VC_V2_CONTEXT, OB_V3_CONTEXT, AMU_CONTEXT)
CONTEXT_FILES = {
    VC_V2_CONTEXT: "credentials-v2.jsonld",
    OB_V3_CONTEXT: "ob-v3p0-context-3.0.3.json",
    AMU_CONTEXT: "amu-bevis-v1.jsonld",
}
CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"
CERTIFICATE_BASE = "https://amu-bevis.example/certificates/"
GOAL_BASE = "https://amu-bevis.example/goals/"

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_PURPOSE = "assertionMethod"
_SIGNATURE_LENGTH = 64
_XSD_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """Where the credential's revocation bit lives: a ``BitstringStatusListEntry``."""

    id: str
    status_list_credential: str
    status_list_index: int
    status_purpose: str = "revocation"

    def __post_init__(self) -> None:
        if self.status_list_index < 0:
            raise ValueError("status_list_index must not be negative")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "BitstringStatusListEntry",
            "statusPurpose": self.status_purpose,
            # The status list spec writes the index as a string of digits.
            "statusListIndex": str(self.status_list_index),
            "statusListCredential": self.status_list_credential,
        }


@dataclass(frozen=True, slots=True)
class SigningInput:
    """The steps of eddsa-jcs-2022 between a credential and its signature, kept for checking."""

    canonical_proof_config: CanonicalJson
    canonical_document: CanonicalJson

    @property
    def proof_config_hash(self) -> bytes:
        return hashlib.sha256(self.canonical_proof_config).digest()

    @property
    def document_hash(self) -> bytes:
        return hashlib.sha256(self.canonical_document).digest()

    @property
    def hash_data(self) -> bytes:
        """What Ed25519 signs: the proof configuration's hash, then the document's."""
        return self.proof_config_hash + self.document_hash


def load_context(url: str) -> dict[str, Any]:
    """A bundled JSON-LD context document by its URL; KeyError for one we do not bundle."""
    document: dict[str, Any] = json.loads((CONTEXTS_DIR / CONTEXT_FILES[url]).read_text("utf-8"))
    return document


def identity_hash(cpr: str, salt: str) -> str:
    """The OB 3.0 IdentityHash of a CPR number: ``sha256$`` and hex SHA-256 of digits + salt.

    The CPR's ten digits are hashed without the dash, so ``DDMMYY-SSSS`` and ``DDMMYYSSSS``
    give the same hash. Raises ValueError (never naming the number) if it is not ten digits
    or the salt is empty.
    """
    digits = cpr.replace("-", "")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        raise ValueError("participant CPR number is not ten digits")
    if not salt:
        raise ValueError("the identity salt must not be empty")
    return "sha256$" + hashlib.sha256((digits + salt).encode("utf-8")).hexdigest()


def build_credential(
    record: CertificateRecord,
    *,
    issuer: str,
    salt: str,
    status: StatusEntry | None = None,
    credential_id: str | None = None,
) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential for a certificate record.

    ``issuer`` is the school's DID or URL, ``salt`` salts the CPR hash (use a fresh random
    one per credential), ``status`` adds a revocation entry, and ``credential_id`` defaults to
    the certificate's URL in the registry. Raises ValueError for a malformed CPR or empty salt.
    """
    data = record.to_json()
    goal = record.goal
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityType": "nationalIdentityNumber",
                "hashed": True,
                "identityHash": identity_hash(record.participant.cpr, salt),
                "salt": salt,
            },
            {
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": False,
                "identityHash": record.participant.name,
            },
        ],
        "achievement": {
            "id": GOAL_BASE + goal.number,
            "type": ["Achievement"],
            "achievementType": "Certificate",
            "humanCode": goal.number,
            "name": goal.title,
            "description": f"Arbejdsmarkedsuddannelse, AMU-mål {goal.number}: {goal.title}.",
            "criteria": {"narrative": "Deltageren har nået målet for arbejdsmarkedsuddannelsen."},
            "durationDays": goal.duration_days,
        },
        "team": record.team,
        "courseStart": data["courseStart"],
        "courseEnd": data["courseEnd"],
    }
    if record.exam_date is not None:
        subject["examDate"] = data["examDate"]
    subject["result"] = [_result(record)]
    credential: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": credential_id or CERTIFICATE_BASE + record.number,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"AMU-bevis: {goal.title}",
        "issuer": {
            "id": issuer,
            "type": ["Profile"],
            "name": record.school.name,
            "otherIdentifier": [
                {
                    "type": "IdentifierEntry",
                    "identifier": record.school.id,
                    "identifierType": "ext:institutionsnummer",
                }
            ],
        },
        "validFrom": data["issuedAt"],
        "certificateNumber": record.number,
        "certificateKind": record.kind.value,
        "credentialSubject": subject,
    }
    if record.replaces is not None:
        credential["replacesCertificate"] = record.replaces
    if status is not None:
        credential["credentialStatus"] = status.to_json()
    return credential


def _result(record: CertificateRecord) -> dict[str, Any]:
    """The three annotations (DOMAIN.md, 001) as an OB Result, in our context's terms.

    ``ikv`` is the individual competence assessment (individuel kompetencevurdering). With no
    exam attached to the goal there is no ``examPassed`` at all, rather than a false one.
    """
    annotations = record.annotations
    result: dict[str, Any] = {"type": ["Result"], "status": "Completed"}
    if annotations.exam_passed is not None:
        result["examPassed"] = annotations.exam_passed
    result["dispensation"] = annotations.dispensation
    result["ikv"] = annotations.ikv
    return result


def signing_input(document: Mapping[str, Any], proof_options: Mapping[str, Any]) -> SigningInput:
    """Transform and configure per vc-di-eddsa §3.3 (eddsa-jcs-2022), ready to hash.

    The proof configuration is ``proof_options`` without ``proofValue`` and with the document's
    ``@context``. Raises InvalidSignatureError if the options are not eddsa-jcs-2022 or their
    ``created`` is not an XML Schema dateTime.
    """
    if proof_options.get("type") != PROOF_TYPE or proof_options.get("cryptosuite") != CRYPTOSUITE:
        raise InvalidSignatureError(f"the proof is not a {PROOF_TYPE} with {CRYPTOSUITE}")
    created = proof_options.get("created")
    if created is not None and not (isinstance(created, str) and _XSD_DATETIME.fullmatch(created)):
        raise InvalidSignatureError("proof 'created' is not an XML Schema dateTime")
    config = {k: v for k, v in proof_options.items() if k != "proofValue"}
    if "@context" in document:
        config["@context"] = document["@context"]
    try:
        return SigningInput(
            canonical_proof_config=CanonicalJson(rfc8785.dumps(config)),
            canonical_document=CanonicalJson(rfc8785.dumps(dict(document))),
        )
    except rfc8785.CanonicalizationError as e:
        # Numbers JSON cannot carry exactly (and the like): no signer could have signed them.
        raise InvalidSignatureError("the credential cannot be canonicalized (RFC 8785)") from e


def sign_credential(
    credential: Mapping[str, Any],
    key: Ed25519PrivateKey,
    *,
    verification_method: str,
    created: dt.datetime,
) -> dict[str, Any]:
    """A copy of ``credential`` with an eddsa-jcs-2022 Data Integrity proof.

    ``verification_method`` names the key (a did:key URL, or the school's key URL with its
    key id); ``created`` is the proof's time (timezone-aware, written in UTC to the second).
    Raises MalformedDocumentError if the credential already carries a proof.
    """
    if "proof" in credential:
        raise MalformedDocumentError("the credential already has a proof")
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    options = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verificationMethod": verification_method,
        "proofPurpose": PROOF_PURPOSE,
    }
    return add_proof(credential, options, key)


def add_proof(
    document: Mapping[str, Any], proof_options: Mapping[str, Any], key: Ed25519PrivateKey
) -> dict[str, Any]:
    """Add a proof made from exactly these ``proof_options`` (vc-di-eddsa "Add Proof").

    ``sign_credential`` is the everyday entry; this one takes the options verbatim so the
    W3C test vectors can be reproduced. Raises InvalidSignatureError for options that are not
    eddsa-jcs-2022.
    """
    steps = signing_input(document, proof_options)
    proof = {k: v for k, v in proof_options.items() if k != "proofValue"}
    if "@context" in document:
        proof["@context"] = copy.deepcopy(document["@context"])
    proof["proofValue"] = encode_base58btc(key.sign(steps.hash_data))
    signed = copy.deepcopy(dict(document))
    signed["proof"] = proof
    return signed


def verify_credential(credential: Mapping[str, Any], key: Ed25519PublicKey) -> dict[str, Any]:
    """Verify the eddsa-jcs-2022 proof of ``credential`` with ``key``; return it without proof.

    Follows vc-di-eddsa "Verify Proof", more strictly in two ways: the proof's ``@context``
    must be present and equal the credential's (the spec lets a holder append contexts after
    signing, and fills in a missing one), and a ``did:key`` verification method must name
    ``key`` itself. Raises InvalidSignatureError on
    any change to the credential or its proof, and for a proof of another kind or purpose.
    """
    proof = credential.get("proof")
    if not isinstance(proof, Mapping):
        raise InvalidSignatureError("the credential has no single proof object")
    proof_value = proof.get("proofValue")
    if not isinstance(proof_value, str):
        raise InvalidSignatureError("the proof has no proofValue")
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        raise InvalidSignatureError(f"the proof's purpose is not {PROOF_PURPOSE}")
    _check_verification_method(proof.get("verificationMethod"), key)
    unsecured = {k: copy.deepcopy(v) for k, v in credential.items() if k != "proof"}
    # We always sign with the credential's @context in the proof, so anything else is a change.
    if proof.get("@context") != unsecured.get("@context"):
        raise InvalidSignatureError("the proof's @context differs from the credential's")
    try:
        signature = decode_base58btc(proof_value)
    except MalformedDocumentError as e:
        raise InvalidSignatureError("the proofValue is not multibase base58btc") from e
    if len(signature) != _SIGNATURE_LENGTH:
        raise InvalidSignatureError("the proofValue is not an Ed25519 signature")
    options = {k: v for k, v in proof.items() if k != "@context"}
    steps = signing_input(unsecured, options)
    try:
        key.verify(signature, steps.hash_data)
    except InvalidSignature as e:
        raise InvalidSignatureError("the proof does not verify") from e
    return unsecured


def _check_verification_method(verification_method: object, key: Ed25519PublicKey) -> None:
    if not isinstance(verification_method, str) or not verification_method:
        raise InvalidSignatureError("the proof names no verification method")
    if not verification_method.startswith("did:key:"):
        return  # a URL: the caller chose the key for it, as for a JWS kid
    try:
        named = public_key_from_did_key(verification_method)
    except MalformedDocumentError as e:
        raise InvalidSignatureError("the proof's did:key is malformed") from e
    if named != key:
        raise InvalidSignatureError("the proof's did:key names another key")
