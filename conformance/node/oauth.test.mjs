// Zone OAuth conformance with node `openid-client` v6 and `jose`: discovery, client credentials
// (client_secret_basic with RFC 6749 form-encoding, client_secret_post, private_key_jwt),
// token exchange, introspection, revocation, and an ES256 zone.
//
// Run by conformance/tests/oauth/test_node.py, which creates the zones, applications and
// credentials on a real `latchkey` server and passes them in LK_* environment variables.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as client from 'openid-client'
import * as jose from 'jose'

const env = (name) => {
  const v = process.env[name]
  if (!v) throw new Error(`missing environment variable ${name} (run through tests/oauth/test_node.py)`)
  return v
}

const ISSUER = env('LK_ISSUER')
const RESOURCE = env('LK_RESOURCE')
const insecure = { execute: [client.allowInsecureRequests] } // the test server speaks http on loopback

async function configFor(clientId, auth, metadata, options = {}) {
  return client.discovery(new URL(ISSUER), clientId, metadata, auth, { ...insecure, ...options })
}

async function verifyToken(token, { issuer = ISSUER, audience = RESOURCE, algorithms = ['RS256'] } = {}) {
  const meta = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()
  const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri))
  return jose.jwtVerify(token, jwks, { issuer, audience, algorithms })
}

test('discovery: OIDC and RFC 8414 (path insertion) agree with the issuer', async () => {
  const secret = env('LK_CLIENT_SECRET')
  const oidc = await configFor(env('LK_CLIENT_ID'), client.ClientSecretBasic(secret))
  const rfc8414 = await configFor(env('LK_CLIENT_ID'), client.ClientSecretBasic(secret), undefined, { algorithm: 'oauth2' })
  for (const config of [oidc, rfc8414]) {
    const m = config.serverMetadata()
    assert.equal(m.issuer, ISSUER)
    assert.equal(m.token_endpoint, `${ISSUER}/oauth/2/token`)
    assert.equal(m.jwks_uri, `${ISSUER}/openidconnect/jwks`)
    assert.ok(m.grant_types_supported.includes('client_credentials'))
  }
  assert.deepEqual(oidc.serverMetadata(), rfc8414.serverMetadata())
})

test('client credentials with client_secret_basic, verified with jose', async () => {
  const config = await configFor(env('LK_CLIENT_ID'), client.ClientSecretBasic(env('LK_CLIENT_SECRET')))
  const tokens = await client.clientCredentialsGrant(config, { resource: RESOURCE, scope: env('LK_SCOPE') })
  assert.equal(tokens.token_type.toLowerCase(), 'bearer')
  const { payload, protectedHeader } = await verifyToken(tokens.access_token)
  assert.equal(protectedHeader.alg, 'RS256')
  assert.ok(protectedHeader.kid)
  assert.equal(payload.sub, env('LK_APP_IDENTIFIER'))
  assert.equal(payload.client_id, env('LK_CLIENT_ID'))
  assert.equal(payload.scope, env('LK_SCOPE'))
  assert.equal(payload.sub_profile, 'app')
  assert.equal(tokens.expires_in, payload.exp - payload.iat)
  assert.equal(tokens.expiresIn() <= tokens.expires_in, true)
})

test('client credentials with client_secret_post', async () => {
  const config = await configFor(env('LK_CLIENT_ID'), client.ClientSecretPost(env('LK_CLIENT_SECRET')))
  const tokens = await client.clientCredentialsGrant(config, { resource: RESOURCE })
  const { payload } = await verifyToken(tokens.access_token)
  assert.equal(payload.client_id, env('LK_CLIENT_ID'))
  assert.equal(payload.scope, undefined)
})

test('client_secret_basic form-encodes the client id (RFC 6749 §2.3.1); the zone decodes it', async () => {
  const id = env('LK_ENC_CLIENT_ID')
  assert.notEqual(encodeURIComponent(id), id, 'the identifier must need encoding for this test to mean anything')
  for (const auth of [client.ClientSecretBasic(env('LK_ENC_CLIENT_SECRET')), client.ClientSecretPost(env('LK_ENC_CLIENT_SECRET'))]) {
    const config = await configFor(id, auth)
    const tokens = await client.clientCredentialsGrant(config, { resource: RESOURCE })
    const { payload } = await verifyToken(tokens.access_token)
    assert.equal(payload.client_id, id)
  }
})

test('client credentials with private_key_jwt (aud = issuer, client_id in the body)', async () => {
  const jwk = JSON.parse(env('LK_PK_PRIVATE_JWK'))
  const key = await jose.importJWK(jwk, 'RS256')
  const config = await configFor(env('LK_PK_CLIENT_ID'), client.PrivateKeyJwt({ key, kid: jwk.kid }))
  const tokens = await client.clientCredentialsGrant(config, { resource: RESOURCE })
  const { payload } = await verifyToken(tokens.access_token)
  assert.equal(payload.client_id, env('LK_PK_CLIENT_ID'))
  assert.equal(payload.sub, env('LK_APP_IDENTIFIER'))
})

// The failure of a token request as { status, error, challenges }: openid-client raises
// ResponseBodyError for a plain OAuth error body and WWWAuthenticateChallengeError when the 401
// also carries a WWW-Authenticate header.
async function oauthFailure(promise) {
  try {
    await promise
  } catch (err) {
    if (err instanceof client.WWWAuthenticateChallengeError) {
      const body = await err.response.json()
      return { status: err.status, error: body.error, challenges: err.cause.map((c) => c.scheme) }
    }
    if (err instanceof client.ResponseBodyError) {
      return { status: err.status, error: err.error, challenges: [] }
    }
    throw err
  }
  assert.fail('the request succeeded')
}

test('a wrong secret is invalid_client (401); Basic gets a Basic challenge', async () => {
  const basic = await configFor(env('LK_CLIENT_ID'), client.ClientSecretBasic('not-the-secret'))
  const b = await oauthFailure(client.clientCredentialsGrant(basic, { resource: RESOURCE }))
  assert.deepEqual(b, { status: 401, error: 'invalid_client', challenges: ['basic'] })
  const post = await configFor(env('LK_CLIENT_ID'), client.ClientSecretPost('not-the-secret'))
  const p = await oauthFailure(client.clientCredentialsGrant(post, { resource: RESOURCE }))
  assert.equal(p.status, 401)
  assert.equal(p.error, 'invalid_client')
})

test('token exchange through genericGrantRequest', async () => {
  const config = await configFor(env('LK_TX_CLIENT_ID'), client.ClientSecretBasic(env('LK_TX_CLIENT_SECRET')))
  const tokens = await client.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:token-exchange', {
    subject_token: env('LK_TX_SUBJECT_TOKEN'),
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    resource: env('LK_TX_RESOURCE'),
  })
  assert.equal(tokens.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token')
  const { payload } = await verifyToken(tokens.access_token, { audience: env('LK_TX_RESOURCE') })
  assert.equal(payload.act.sub, env('LK_TX_ACTOR'))
  assert.equal(payload.sub, env('LK_TX_SUBJECT'))
})

test('introspection and revocation', async () => {
  const config = await configFor(env('LK_CLIENT_ID'), client.ClientSecretBasic(env('LK_CLIENT_SECRET')))
  const { access_token } = await client.clientCredentialsGrant(config, { resource: RESOURCE })
  const active = await client.tokenIntrospection(config, access_token)
  assert.equal(active.active, true)
  assert.equal(active.client_id, env('LK_CLIENT_ID'))
  assert.equal(active.aud, RESOURCE)
  assert.equal(active.iss, ISSUER)
  const inactive = await client.tokenIntrospection(config, 'not-a-token')
  assert.equal(inactive.active, false)
  await assert.rejects(client.tokenRevocation(config, access_token), (err) => {
    assert.ok(err instanceof client.ResponseBodyError, `unexpected ${err}`)
    assert.equal(err.error, 'unsupported_token_type')
    return true
  })
  await client.tokenRevocation(config, 'not-a-token') // unknown tokens: 200
})

test('ES256 zone: EC keys, ES256 tokens verified with jose', async () => {
  const issuer = env('LK_ES_ISSUER')
  const config = await client.discovery(
    new URL(issuer), env('LK_ES_CLIENT_ID'), undefined, client.ClientSecretBasic(env('LK_ES_CLIENT_SECRET')), insecure,
  )
  const jwks = await (await fetch(config.serverMetadata().jwks_uri)).json()
  assert.ok(jwks.keys.length > 0)
  for (const k of jwks.keys) {
    assert.equal(k.kty, 'EC')
    assert.equal(k.crv, 'P-256')
    assert.equal(k.d, undefined)
  }
  const tokens = await client.clientCredentialsGrant(config, { resource: env('LK_ES_RESOURCE') })
  const { payload, protectedHeader } = await verifyToken(tokens.access_token, {
    issuer, audience: env('LK_ES_RESOURCE'), algorithms: ['ES256'],
  })
  assert.equal(protectedHeader.alg, 'ES256')
  assert.ok(jwks.keys.some((k) => k.kid === protectedHeader.kid))
  assert.equal(payload.iss, issuer)
  await assert.rejects(verifyToken(tokens.access_token, { issuer, audience: env('LK_ES_RESOURCE'), algorithms: ['RS256'] }))
})

test('RP-initiated logout: buildEndSessionUrl from discovery; the zone sends the browser back with state', async () => {
  const clientId = env('LK_LOGOUT_CLIENT_ID')
  const back = env('LK_LOGOUT_REDIRECT')
  const config = await configFor(clientId, client.None())
  assert.equal(config.serverMetadata().end_session_endpoint, `${ISSUER}/logout`)
  const state = client.randomState()
  const url = client.buildEndSessionUrl(config, { post_logout_redirect_uri: back, state })
  assert.equal(url.searchParams.get('client_id'), clientId)
  // No web session in this (cookieless) request: nothing to sign out, straight back.
  const res = await fetch(url, { redirect: 'manual' })
  assert.equal(res.status, 303)
  const to = new URL(res.headers.get('location'))
  assert.equal(`${to.origin}${to.pathname}`, back)
  assert.equal(to.searchParams.get('state'), state)
  // A URI the client did not register is refused with a page, never followed.
  const evil = client.buildEndSessionUrl(config, { post_logout_redirect_uri: 'https://evil.example/', state })
  const refused = await fetch(evil, { redirect: 'manual' })
  assert.equal(refused.status, 400)
  assert.equal(refused.headers.get('location'), null)
})

test('pushed authorization request (RFC 9126) through buildAuthorizationUrlWithPAR', async () => {
  const clientId = env('LK_LOGOUT_CLIENT_ID')
  const config = await configFor(clientId, client.None())
  assert.equal(config.serverMetadata().pushed_authorization_request_endpoint, `${ISSUER}/oauth/2/par`)
  const verifier = client.randomPKCECodeVerifier()
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: env('LK_BROWSER_REDIRECT'),
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
  })
  assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri'])
  assert.ok(url.searchParams.get('request_uri').startsWith('urn:ietf:params:oauth:request_uri:'))
  // The browser's first stop: the zone's sign-in page for the pushed request.
  const res = await fetch(url, { redirect: 'manual' })
  assert.equal(res.status, 303)
  assert.match(res.headers.get('location'), /\/login\?request=/)
  // A request_uri works once.
  const again = await fetch(url, { redirect: 'manual' })
  assert.equal(again.status, 400)
})
