// oidc-provider baseline for bench/run.sh: one confidential client (client_secret_basic) that
// may only use client_credentials, and two resource servers that get JWT access tokens:
//   https://api.bench     -> RS256 (2048-bit key)
//   https://es.api.bench  -> ES256 (P-256 key)
// Keys are generated at start; the default in-memory adapter is used (JWT access tokens are not
// written to it). Usage: PORT=... CLIENT_ID=... CLIENT_SECRET=... node server.js
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 3000);
const issuer = `http://127.0.0.1:${port}`;

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const RESOURCES = {
  'https://api.bench': 'RS256',
  'https://es.api.bench': 'ES256',
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID || 'bench-app',
    client_secret: process.env.CLIENT_SECRET || 'bench-secret-bench-secret',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: {
    keys: [
      { ...rsa, kid: 'rs', alg: 'RS256', use: 'sig' },
      { ...ec, kid: 'es', alg: 'ES256', use: 'sig' },
    ],
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'https://api.bench',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        const alg = RESOURCES[resourceIndicator];
        if (!alg) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'api',
          audience: resourceIndicator,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        };
      },
    },
  },
});

provider.on('server_error', (ctx, err) => console.error('server_error', err));

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ${issuer} ready`);
});
