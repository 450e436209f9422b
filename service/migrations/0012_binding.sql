-- Binding (docs/registry.md, "What the log binds"): every column an answer depends on that the
-- signed record does not carry is stated by the certificate's 'issued' leaf (entry v2): the
-- status-list position, the retention date, and a salted SHA-256 of the verification code.
-- The salt stays here, never in the public log, so the leaf does not let anyone search the
-- 36^8 codes; the leaf holds sha256(binding_salt || code).
--
-- Certificates logged before this migration keep their v1 leaves and have no salt: the audit
-- names them as pre-binding in its warnings, and run time answers for them as it did before.
ALTER TABLE certificates
    ADD COLUMN binding_salt bytea CHECK (binding_salt IS NULL OR length(binding_salt) = 16);
