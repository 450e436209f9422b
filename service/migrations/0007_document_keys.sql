-- Document-signing certificates: the ECDSA P-256 key and X.509 certificate a school signs its
-- paper PDFs (PAdES) and certificate XML (XMLDSig) with. The record itself stays signed with the
-- school's Ed25519 key (JWS, VC); the PDF and XML validators need X.509 and ECDSA.

CREATE TABLE document_authorities (
    kid          text PRIMARY KEY,
    certificate  bytea NOT NULL,           -- DER
    valid_from   timestamptz NOT NULL,
    retired_at   timestamptz
);

CREATE TABLE school_document_certificates (
    kid            text PRIMARY KEY,
    school_id      text NOT NULL REFERENCES schools,
    authority_kid  text NOT NULL REFERENCES document_authorities,
    certificate    bytea NOT NULL,         -- DER, issued by the authority
    valid_from     timestamptz NOT NULL,
    retired_at     timestamptz CHECK (retired_at IS NULL OR retired_at >= valid_from)
);
CREATE UNIQUE INDEX school_document_certificates_one_active
    ON school_document_certificates (school_id) WHERE retired_at IS NULL;
CREATE TRIGGER school_document_certificates_retire_only
    BEFORE UPDATE OR DELETE ON school_document_certificates
    FOR EACH ROW EXECUTE FUNCTION keys_retire_only();
