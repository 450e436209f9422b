-- Idempotency (issue 12): a key is bound to the whole request, not only its body. The same key
-- and body sent to another participation used to get the first participation's answer, and the
-- second write was lost. A key now names one request of its school: the method, the route
-- template, the target (the path with its parameters) and the body's hash; reusing it for any
-- other request is refused (422).
--
-- The answer is kept as the exact bytes sent the first time (bytea), so a repeat returns them
-- as they are: JSONB would reorder keys and the answer would have to be encoded again.
-- The route answers one status with one media type, first time and every repeat, so neither is
-- stored; the unused status_code column goes.
ALTER TABLE idempotency_keys
    ADD COLUMN method         text,
    ADD COLUMN route          text,
    ADD COLUMN target         text,
    ADD COLUMN response_body  bytea;

-- Keys claimed before this migration were bound to the body alone: their request is unknown,
-- so any reuse of one is refused rather than answered with what may be another request's answer.
UPDATE idempotency_keys
   SET method = '', route = '', target = '',
       response_body = convert_to(response::text, 'UTF8');

ALTER TABLE idempotency_keys
    ALTER COLUMN method SET NOT NULL,
    ALTER COLUMN route SET NOT NULL,
    ALTER COLUMN target SET NOT NULL,
    DROP COLUMN status_code,
    DROP COLUMN response;
