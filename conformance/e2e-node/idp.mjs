// An upstream OpenID provider for the end-to-end login tests (tests/e2e), built on the real
// `oidc-provider` with its default development interactions (a login form that accepts any login
// name with any password, and a consent form).
//
// It plays two parts for a zone: the zone's user identity provider (client "login" in the config)
// and the authorization server of an external API whose tokens the zone keeps in delegated grants
// (client "api"). Every authorization and token request it receives is recorded and served at
// GET /__e2e/log so the tests can check what the zone sent (PKCE, scopes, extra parameters).
//
// Configuration: JSON in env IDP_CONFIG
//   { "clients": [ { "client_id", "client_secret", "redirect_uris": [...],
//                    "post_logout_redirect_uris"?: [...], "access_token_ttl"?: seconds } ] }
// Listens on 127.0.0.1 on a free port and prints one line of JSON, {"issuer", "port"}, on stdout.
// The account of login name L has sub = L, email = L@example.test, name = "E2E L".

import http from 'node:http';
import crypto from 'node:crypto';

import Provider from 'oidc-provider';

const config = JSON.parse(process.env.IDP_CONFIG || '{"clients": []}');
const ttlByClient = Object.fromEntries(
  config.clients.map((c) => [c.client_id, c.access_token_ttl ?? 3600]),
);
const log = [];

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `e2e-${port}`, use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api:read', 'api:write'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  ttl: {
    AccessToken: (ctx, token, client) => ttlByClient[client?.clientId ?? token.clientId] ?? 3600,
  },
  // A refresh token for every code of a client allowed the refresh grant (no offline_access
  // consent dance needed).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.test`, email_verified: true, name: `E2E ${id}` };
      },
    };
  },
});
provider.proxy = false;

// Records the requests the zone (or the browser on its behalf) makes.
provider.use(async (ctx, next) => {
  const path = ctx.path;
  if (path === '/auth' || path === '/token') {
    const entry = { path, method: ctx.method, query: { ...ctx.query }, at: Date.now() };
    if (path === '/token') {
      const auth = ctx.get('authorization') || '';
      entry.basic = auth.startsWith('Basic ');
      if (entry.basic) {
        entry.client_id = decodeURIComponent(Buffer.from(auth.slice(6), 'base64').toString().split(':')[0]);
      }
    }
    log.push(entry);
    await next();
    if (path === '/token') {
      // (the body was parsed by the token endpoint)
      const body = ctx.oidc?.body ?? {};
      entry.body = {
        grant_type: body.grant_type,
        has_code_verifier: typeof body.code_verifier === 'string',
        redirect_uri: body.redirect_uri,
      };
      entry.status = ctx.status;
    }
    return;
  }
  await next();
});

const handler = provider.callback();
server.on('request', (req, res) => {
  if (req.url === '/__e2e/log') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(log));
    return;
  }
  handler(req, res);
});

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
