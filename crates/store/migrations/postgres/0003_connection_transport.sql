-- How to reach a connection's org besides its domain (PostgreSQL flavour; keep in step with
-- ../sqlite/0003_connection_transport.sql), saved by `steward connect` so that `steward sync`
-- builds the same client the doctor tested:
--   * ca_cert_pem: an extra trusted CA certificate (PEM text, public), e.g. a TLS simulator's.
--     The certificate itself rather than its path: the connection keeps working when run from
--     another directory or host. NULL = the system's trusted roots only.
--   * allow_insecure_loopback: accept 127.0.0.1:PORT / localhost:PORT over plain http
--     (simulator and tests only).
ALTER TABLE okta_connections ADD COLUMN ca_cert_pem TEXT;
ALTER TABLE okta_connections ADD COLUMN allow_insecure_loopback BOOLEAN NOT NULL DEFAULT FALSE;
