-- Refresh tokens know the token session they were issued under (revoking any session of the
-- tree revokes them), consents cover resources as well as scopes, and expired browser-flow
-- records are purged by expiry.
ALTER TABLE refresh_tokens ADD COLUMN token_session_id TEXT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (zone_id, session_id);
CREATE INDEX refresh_tokens_token_session ON refresh_tokens (zone_id, token_session_id);
ALTER TABLE consents ADD COLUMN resources TEXT;
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
