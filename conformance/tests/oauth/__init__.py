"""Zone OAuth 2.0 conformance: real OAuth clients (keycardai-oauth, keycardai-starlette,
keycardai-mcp, node openid-client/jose) against the zone authorization servers."""
