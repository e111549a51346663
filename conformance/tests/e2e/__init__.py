"""End-to-end user-login flows: headless Chromium (playwright-core), a real upstream OpenID
provider (node oidc-provider), the keycardai-mcp client and server, and HTTP security cases,
against the zone authorization servers."""
