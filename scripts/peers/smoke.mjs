// End-to-end smoke test of oidc-provider.mjs, doing what a Rust integration test does.
// Usage: node smoke.mjs [issuer]   (default http://127.0.0.1:$OIDC_PORT, port 4011)
// Exits non-zero on the first failed check; prints "N passed, 0 failed" at the end.

import * as crypto from 'node:crypto';
import assert from 'node:assert/strict';

const ISSUER = process.argv[2] || `http://127.0.0.1:${process.env.OIDC_PORT || '4011'}`;
const REDIRECT_URI = 'http://127.0.0.1/callback';
const API = 'urn:userprofile:api';

let passed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (err) {
    console.log(`not ok - ${name}`);
    console.error(err);
    console.log(`${passed} passed, 1 failed`);
    process.exit(1);
  }
}

const b64 = (buf) => Buffer.from(buf).toString('base64url');
function decodeJwt(jwt) {
  const [h, p] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url')),
    payload: JSON.parse(Buffer.from(p, 'base64url')),
  };
}
async function json(res) {
  const text = await res.text();
  try { return JSON.parse(text); } catch { return { raw: text }; }
}

// --- minimal cookie jar: name -> {value, path}; enough for the provider's cookies ----------------
class CookieJar {
  constructor() { this.cookies = new Map(); }

  store(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expired = false;
      for (const a of attrs) {
        const [k, v] = a.split('=');
        if (k.toLowerCase() === 'path') path = v;
        if (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired || value === '') this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    return [...this.cookies.values()]
      .filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

function pkce() {
  const verifier = b64(crypto.randomBytes(32));
  const challenge = b64(crypto.createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

// Authorization code + PKCE, non-interactive: follow redirects by hand until the callback.
async function userLogin(sub, { resource = API, authResources, jar = new CookieJar() } = {}) {
  const { verifier, challenge } = pkce();
  const state = b64(crypto.randomBytes(8));
  const auth = new URL('/auth', ISSUER);
  auth.search = new URLSearchParams({
    client_id: 'userprofile-test',
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile email',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    login_hint: sub,
  });
  for (const r of authResources || []) auth.searchParams.append('resource', r);

  let url = auth.href;
  const hops = [];
  for (let i = 0; i < 10; i += 1) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) } });
    jar.store(res);
    const location = res.headers.get('location');
    hops.push(`${res.status} ${new URL(url).pathname}`);
    if (res.status < 300 || res.status >= 400 || !location) {
      throw new Error(`auth flow stopped at ${url}: ${res.status} ${await res.text()}`);
    }
    const next = new URL(location, url);
    if (next.href.startsWith(REDIRECT_URI)) {
      assert.equal(next.searchParams.get('state'), state);
      assert.equal(next.searchParams.get('iss'), ISSUER);
      if (next.searchParams.get('error')) throw new Error(`auth error: ${next.search}`);
      const code = next.searchParams.get('code');
      assert.ok(code, 'code in callback');
      const tokenRes = await fetch(new URL('/token', ISSUER), {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: 'userprofile-test',
          code,
          code_verifier: verifier,
          redirect_uri: REDIRECT_URI,
          resource,
        }),
      });
      const body = await json(tokenRes);
      assert.equal(tokenRes.status, 200, JSON.stringify(body));
      return { ...body, hops };
    }
    url = next.href;
  }
  throw new Error(`too many redirects: ${hops.join(' -> ')}`);
}

async function clientCredentials(clientId, secret, params) {
  const res = await fetch(new URL('/token', ISSUER), {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
  return { status: res.status, body: await json(res) };
}

async function jwks() {
  const conf = await json(await fetch(new URL('/.well-known/openid-configuration', ISSUER)));
  return json(await fetch(conf.jwks_uri));
}

async function verifyWithJwks(jwt) {
  const { header } = decodeJwt(jwt);
  const { keys } = await jwks();
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk) return false;
  const [h, p, s] = jwt.split('.');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const opts = header.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key;
  return crypto.verify('sha256', Buffer.from(`${h}.${p}`), opts, Buffer.from(s, 'base64url'));
}

async function userinfo(token) {
  const res = await fetch(new URL('/me', ISSUER), { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await json(res) };
}

async function registerAccount(body) {
  const res = await fetch(new URL('/__test/accounts', ISSUER), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(res.status, 201);
}

// --------------------------------------------------------------------------------------------------

const now = () => Math.floor(Date.now() / 1000);
const aliceClaims = {
  name: 'Alice Example',
  given_name: 'Alice',
  family_name: 'Example',
  email: 'alice@example.com',
  email_verified: true,
  picture: 'https://example.com/alice.png',
  locale: 'de-CH',
  zoneinfo: 'Europe/Zurich',
  preferred_username: 'alice',
  tenants: [{ id: 't1', name: 'Tenant One', role: 'admin' }],
  'urn:zitadel:iam:org:project:roles': { admin: { 111: 'org.example' } },
};

let user;
let refreshToken;

await check('discovery answers with the expected issuer', async () => {
  const conf = await json(await fetch(new URL('/.well-known/openid-configuration', ISSUER)));
  assert.equal(conf.issuer, ISSUER);
  assert.equal(conf.userinfo_endpoint, `${ISSUER}/me`);
});

await check('register account with claimsInAccessToken', () => registerAccount({
  sub: 'alice', claims: aliceClaims, claimsInAccessToken: true,
}));

await check('auth code + PKCE flow yields an RS256 JWT access token for urn:userprofile:api', async () => {
  user = await userLogin('alice');
  refreshToken = user.refresh_token;
  console.log('   redirect hops:', user.hops.join(' -> '), '-> callback');
  const { header, payload } = decodeJwt(user.access_token);
  console.log('   header:', JSON.stringify(header));
  console.log('   payload:', JSON.stringify(payload));
  assert.equal(header.alg, 'RS256');
  assert.equal(header.typ, 'at+jwt');
  assert.equal(payload.iss, ISSUER);
  assert.equal(payload.aud, API);
  assert.equal(payload.sub, 'alice');
  assert.equal(payload.client_id, 'userprofile-test');
  assert.equal(payload.exp - payload.iat, 3600);
  assert.equal(payload.email, 'alice@example.com');
  assert.deepEqual(payload.tenants, aliceClaims.tenants);
  assert.deepEqual(payload['urn:zitadel:iam:org:project:roles'], aliceClaims['urn:zitadel:iam:org:project:roles']);
  assert.ok(refreshToken, 'refresh token issued');
});

await check('access token kid is in the JWKS and the signature verifies', async () => {
  const { keys } = await jwks();
  const { header } = decodeJwt(user.access_token);
  assert.ok(keys.some((k) => k.kid === header.kid && k.alg === 'RS256'));
  assert.ok(await verifyWithJwks(user.access_token));
});

await check('userinfo returns the registered claims for the JWT access token', async () => {
  const { status, body } = await userinfo(user.access_token);
  console.log('   userinfo:', JSON.stringify(body));
  assert.equal(status, 200);
  assert.deepEqual(body, { ...aliceClaims, sub: 'alice' });
});

await check('account without claimsInAccessToken: claims only via userinfo', async () => {
  await registerAccount({ sub: 'bob', claims: { name: 'Bob', email: 'bob@example.com', tenants: [] } });
  const t = await userLogin('bob');
  const { payload } = decodeJwt(t.access_token);
  assert.equal(payload.sub, 'bob');
  assert.equal(payload.name, undefined);
  assert.equal(payload.email, undefined);
  const { status, body } = await userinfo(t.access_token);
  assert.equal(status, 200);
  assert.deepEqual(body, { sub: 'bob', name: 'Bob', email: 'bob@example.com', tenants: [] });
});

await check('unknown login_hint auto-creates an account with only sub', async () => {
  const sub = `auto-${crypto.randomUUID()}`;
  const t = await userLogin(sub);
  assert.equal(decodeJwt(t.access_token).payload.sub, sub);
  const { status, body } = await userinfo(t.access_token);
  assert.equal(status, 200);
  assert.deepEqual(body, { sub });
});

await check('one cookie jar reused for two users: each login yields its own login_hint user', async () => {
  const jar = new CookieJar();
  const a = await userLogin('alice', { jar });
  const b = await userLogin('bob', { jar });
  const a2 = await userLogin('alice', { jar });
  assert.deepEqual(
    [a, b, a2].map((t) => decodeJwt(t.access_token).payload.sub),
    ['alice', 'bob', 'alice'],
  );
});

await check('wrong audience: token for urn:other:api', async () => {
  const t = await userLogin('alice', { resource: 'urn:other:api' });
  assert.equal(decodeJwt(t.access_token).payload.aud, 'urn:other:api');
});

await check('refresh token grant can switch resource (urn:other:api)', async () => {
  const res = await fetch(new URL('/token', ISSUER), {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'refresh_token', client_id: 'userprofile-test', refresh_token: refreshToken, resource: 'urn:other:api',
    }),
  });
  const body = await json(res);
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(decodeJwt(body.access_token).payload.aud, 'urn:other:api');
  refreshToken = body.refresh_token; // public clients get rotating refresh tokens
});

await check('ES256 resource yields an ES256 token with audience urn:userprofile:api', async () => {
  const t = await userLogin('alice', { resource: 'urn:userprofile:es256' });
  const { header, payload } = decodeJwt(t.access_token);
  assert.equal(header.alg, 'ES256');
  assert.equal(payload.aud, API);
  assert.ok(await verifyWithJwks(t.access_token));
  assert.equal((await userinfo(t.access_token)).status, 200);
});

await check('auth request may restrict resources explicitly', async () => {
  const t = await userLogin('alice', { resource: 'urn:userprofile:short', authResources: ['urn:userprofile:short'] });
  assert.equal(decodeJwt(t.access_token).payload.aud, API);
});

await check('short-lived resource: 2 s token, expired after 3 s (userinfo refuses it)', async () => {
  const t = await userLogin('alice', { resource: 'urn:userprofile:short' });
  const { payload } = decodeJwt(t.access_token);
  assert.equal(payload.aud, API);
  assert.equal(payload.exp - payload.iat, 2);
  assert.equal(t.expires_in, 2);
  assert.equal((await userinfo(t.access_token)).status, 200);
  await new Promise((r) => { setTimeout(r, 3000); });
  assert.ok(payload.exp < now(), 'exp in the past');
  const { status, body } = await userinfo(t.access_token);
  assert.equal(status, 401);
  assert.equal(body.error, 'invalid_token');
});

let operatorToken;
await check('client credentials for userprofile-operator with userprofile:operator', async () => {
  const { status, body } = await clientCredentials('userprofile-operator', 'operator-secret', {
    scope: 'userprofile:operator', resource: API,
  });
  assert.equal(status, 200, JSON.stringify(body));
  operatorToken = body.access_token;
  const { header, payload } = decodeJwt(operatorToken);
  console.log('   operator payload:', JSON.stringify(payload));
  assert.equal(header.alg, 'RS256');
  assert.equal(payload.aud, API);
  assert.equal(payload.sub, 'userprofile-operator');
  assert.equal(payload.client_id, 'userprofile-operator');
  assert.equal(payload.scope, 'userprofile:operator');
  assert.ok(await verifyWithJwks(operatorToken));
});

await check('client credentials without resource defaults to urn:userprofile:api', async () => {
  const { status, body } = await clientCredentials('userprofile-operator', 'operator-secret', { scope: 'userprofile:operator' });
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(decodeJwt(body.access_token).payload.aud, API);
});

await check('other-operator asking for userprofile:operator gets a token without it', async () => {
  const { status, body } = await clientCredentials('other-operator', 'other-secret', {
    scope: 'userprofile:operator', resource: API,
  });
  assert.equal(status, 200, JSON.stringify(body));
  const { payload } = decodeJwt(body.access_token);
  assert.equal(payload.aud, API);
  assert.equal(payload.sub, 'other-operator');
  assert.equal(payload.scope, undefined);
});

await check('wrong client secret is refused', async () => {
  const { status, body } = await clientCredentials('userprofile-operator', 'nope', { scope: 'userprofile:operator' });
  assert.equal(status, 401);
  assert.equal(body.error, 'invalid_client');
});

await check('userinfo refuses a client-credentials token (no openid scope)', async () => {
  assert.equal((await userinfo(operatorToken)).status, 403);
});

await check('key rotation: new kid, JWKS has only the new keys, old tokens unverifiable', async () => {
  const oldKid = decodeJwt(user.access_token).header.kid;
  const res = await fetch(new URL('/__test/rotate-keys', ISSUER), { method: 'POST' });
  assert.equal(res.status, 200);
  const rotated = await json(res);
  console.log('   rotate-keys:', JSON.stringify(rotated));
  const { keys } = await jwks();
  assert.ok(!keys.some((k) => k.kid === oldKid), 'old kid gone from JWKS');
  assert.equal(await verifyWithJwks(user.access_token), false);
  assert.equal((await userinfo(user.access_token)).status, 401);

  const fresh = await userLogin('alice');
  const newKid = decodeJwt(fresh.access_token).header.kid;
  assert.notEqual(newKid, oldKid);
  assert.ok(keys.some((k) => k.kid === newKid));
  assert.ok(await verifyWithJwks(fresh.access_token));

  const op = await clientCredentials('userprofile-operator', 'operator-secret', { scope: 'userprofile:operator' });
  assert.equal(decodeJwt(op.body.access_token).header.kid, newKid);

  // refresh tokens issued before the rotation still work and yield new-key tokens
  const r = await fetch(new URL('/token', ISSUER), {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'userprofile-test', refresh_token: refreshToken }),
  });
  const rb = await json(r);
  assert.equal(r.status, 200, JSON.stringify(rb));
  assert.equal(decodeJwt(rb.access_token).header.kid, newKid);
  assert.equal(decodeJwt(rb.access_token).payload.aud, API);
});

await check('missing login_hint ends in an error redirect', async () => {
  await assert.rejects(userLogin(''), /login_required/);
});

console.log(`${passed} passed, 0 failed`);
