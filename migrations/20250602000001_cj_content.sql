-- The built-in content store (src/content/store.rs): essay and anchor texts under an opaque
-- storage id, with the Content Service's HTTP shape, so the service runs without the wider
-- pipeline. Texts are personal data: the event log keeps only storage ids and hashes.

CREATE TABLE cj_content
(
    storage_id text        PRIMARY KEY,
    text       text        NOT NULL,
    sha256     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
