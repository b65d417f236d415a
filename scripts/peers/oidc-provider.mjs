// Test OpenID provider for the user-profile service's integration tests.
//
// A real `oidc-provider` (npm) behind a small node:http front that adds:
//   * non-interactive login + consent driven by the `login_hint` authorization parameter,
//   * POST /__test/accounts    register / replace a test account and its claims,
//   * POST /__test/rotate-keys replace the signing keys (new kids; old keys are dropped),
//   * GET|POST /me             userinfo that accepts the JWT access tokens this provider issues.
//
// Everything is in memory. See README.md in this folder for the flow a test performs.

import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const PORT = Number.parseInt(process.env.OIDC_PORT || '4011', 10);
const HOST = '127.0.0.1';
const ISSUER = `http://${HOST}:${PORT}`;

const API = 'urn:userprofile:api';
const OPERATOR_SCOPE = 'userprofile:operator';
const USER_SCOPES = 'openid profile email';

// resource indicator -> how its access tokens look
const RESOURCES = {
  [API]: { audience: API, ttl: 3600, alg: 'RS256' },
  'urn:other:api': { audience: 'urn:other:api', ttl: 3600, alg: 'RS256' },
  'urn:userprofile:short': { audience: API, ttl: 2, alg: 'RS256' },
  'urn:userprofile:es256': { audience: API, ttl: 3600, alg: 'ES256' },
};
const ALL_RESOURCES = Object.keys(RESOURCES);

// Claims that the provider sets itself and that account claims may not override in a JWT.
const RESERVED_JWT_CLAIMS = new Set([
  'iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'client_id', 'scope', 'cnf', 'authorization_details',
]);

// ---------------------------------------------------------------------------------------------
// state that outlives provider instances (key rotation recreates the Provider)

/** @type {Map<string, {sub: string, claims: object, claimsInAccessToken: boolean}>} */
const accounts = new Map();

// oidc-provider's built-in memory adapter keeps a store per Provider instance, so sessions, grants
// and refresh tokens would vanish on key rotation. This one keeps a single store for all instances.
const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }
const grantMembers = new Map(); // grantId -> Set of store keys
const sessionByUid = new Map(); // session uid -> session id
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

function storeGet(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.payload;
}

setInterval(() => {
  const now = Date.now();
  for (const [key, entry] of store) {
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) store.delete(key);
  }
  for (const [grantId, keys] of grantMembers) {
    for (const key of keys) if (!store.has(key)) keys.delete(key);
    if (keys.size === 0) grantMembers.delete(grantId);
  }
  for (const [uid, id] of sessionByUid) if (!store.has(`Session:${id}`)) sessionByUid.delete(uid);
}, 60_000).unref();

class SharedMemoryAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, {
      payload,
      expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
    });
    if (this.model === 'Session' && payload.uid) sessionByUid.set(payload.uid, id);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
      grantMembers.get(payload.grantId).add(key);
    }
  }

  async find(id) { return storeGet(this.key(id)); }

  async findByUid(uid) {
    const id = sessionByUid.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode() { return undefined; } // device flow is not enabled

  async consume(id) {
    const payload = storeGet(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    for (const key of grantMembers.get(grantId) || []) store.delete(key);
    grantMembers.delete(grantId);
  }
}

// Fixed cookie signing keys so that cookies stay valid across a provider re-creation.
const COOKIE_KEYS = ['userprofile-test-cookie-key'];

// A private key as a JWK, made by the openssl command: Node 20's generateKeyPairSync followed by
// a JWK export deadlocks about one start in ten (a garbage collection runs the key-generation
// job's destructor, which waits on a mutex already held). Importing a PEM needs no such job.
function opensslJwk(...genpkeyOptions) {
  const pem = execFileSync('openssl', ['genpkey', '-quiet', ...genpkeyOptions], { stdio: ['ignore', 'pipe', 'inherit'] });
  return crypto.createPrivateKey(pem).export({ format: 'jwk' });
}

let keyGeneration = 0;
function generateSigningKeys() {
  keyGeneration += 1;
  const tag = `${keyGeneration}-${crypto.randomBytes(4).toString('hex')}`;
  const rsa = opensslJwk('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048');
  const ec = opensslJwk('-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
  return [
    { ...rsa, kid: `rs256-${tag}`, alg: 'RS256', use: 'sig' },
    { ...ec, kid: `es256-${tag}`, alg: 'ES256', use: 'sig' },
  ];
}

function publicJwk(jwk) {
  const {
    d, p, q, dp, dq, qi, ...pub
  } = jwk;
  return pub;
}

let signingKeys = generateSigningKeys();

// ---------------------------------------------------------------------------------------------
// provider configuration

function clientMayUseOperatorScope(client) {
  return !!client?.scope && client.scope.split(' ').includes(OPERATOR_SCOPE);
}

function accountClaims(sub) {
  const account = accounts.get(sub);
  return { ...(account?.claims || {}), sub };
}

function buildConfiguration() {
  return {
    clients: [
      {
        client_id: 'userprofile-test',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
      },
      {
        // The web UI's confidential client. Native, so that any loopback port is accepted as
        // the redirect URI's (RFC 8252 7.3): each test's service listens on a port of its own.
        client_id: 'userprofile-web',
        client_secret: 'web-secret',
        application_type: 'native',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/auth/callback'],
        post_logout_redirect_uris: ['http://127.0.0.1/signin'],
      },
      {
        client_id: 'userprofile-operator',
        client_secret: 'operator-secret',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: `openid ${OPERATOR_SCOPE}`,
      },
      {
        client_id: 'other-operator',
        client_secret: 'other-secret',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        // no `scope`: it may ask for anything, but getResourceServerInfo never grants it the
        // operator scope, so such a request yields a token without it (no error).
      },
    ],
    adapter: SharedMemoryAdapter,
    jwks: { keys: signingKeys },
    cookies: { keys: COOKIE_KEYS },
    scopes: ['openid', 'offline_access', OPERATOR_SCOPE],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'picture', 'locale', 'zoneinfo'],
      email: ['email', 'email_verified'],
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true }, // path /me is served by the front below, see userinfo()
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Authorization requests without `resource` are granted every resource, so the token
        // request picks the audience with its own `resource` parameter; token requests without
        // `resource` get urn:userprofile:api.
        defaultResource(ctx, client, oneOf) {
          if (oneOf) return oneOf.includes(API) ? API : oneOf[0];
          if (ctx.oidc.route === 'authorization') return ALL_RESOURCES;
          return API;
        },
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, resource, client) {
          const r = RESOURCES[resource];
          if (!r) throw new errors.InvalidTarget(`unknown resource ${resource}`);
          const scope = clientMayUseOperatorScope(client) ? `${USER_SCOPES} ${OPERATOR_SCOPE}` : USER_SCOPES;
          return {
            scope,
            audience: r.audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: r.ttl,
            jwt: { sign: { alg: r.alg } },
          };
        },
      },
    },
    async findAccount(ctx, sub) {
      if (!accounts.has(sub)) return undefined;
      return {
        accountId: sub,
        async claims() { return accountClaims(sub); },
      };
    },
    async extraTokenClaims(ctx, token) {
      if (!token.accountId) return undefined;
      const account = accounts.get(token.accountId);
      if (!account?.claimsInAccessToken) return undefined;
      return Object.fromEntries(
        Object.entries(account.claims).filter(([k]) => !RESERVED_JWT_CLAIMS.has(k)),
      );
    },
    // Public test client: always hand out a refresh token (no offline_access/prompt=consent dance).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || 3600,
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || 3600,
      AuthorizationCode: 300,
      IdToken: 3600,
      Interaction: 600,
      Session: 86400,
      Grant: 86400,
      RefreshToken: 86400,
    },
    clientBasedCORS: () => true,
    async renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
}

function createProvider() {
  const p = new Provider(ISSUER, buildConfiguration());
  p.on('server_error', (ctx, err) => console.error('oidc server_error:', err));
  // one line per refused request, with the detail oidc-provider keeps out of the response body
  for (const event of ['authorization.error', 'grant.error', 'backchannel.error', 'introspection.error', 'revocation.error']) {
    p.on(event, (ctx, err) => console.error(`${event}: ${err.error} (${err.error_detail || err.error_description || err.message})`));
  }
  return { provider: p, handler: p.callback() };
}

let current = createProvider();

// ---------------------------------------------------------------------------------------------
// front: test endpoints, non-interactive interactions, userinfo

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function publishedKeys() {
  return signingKeys.map((k) => ({ kid: k.kid, alg: k.alg, kty: k.kty }));
}

async function registerAccount(req, res) {
  let body;
  try {
    body = JSON.parse(await readBody(req) || '{}');
  } catch {
    return sendJson(res, 400, { error: 'invalid JSON' });
  }
  if (typeof body.sub !== 'string' || !body.sub) {
    return sendJson(res, 400, { error: '"sub" (non-empty string) is required' });
  }
  const claims = body.claims && typeof body.claims === 'object' ? { ...body.claims } : {};
  delete claims.sub;
  const account = { sub: body.sub, claims, claimsInAccessToken: body.claimsInAccessToken === true };
  accounts.set(body.sub, account);
  return sendJson(res, 201, account);
}

function rotateKeys(res) {
  const previous = publishedKeys();
  signingKeys = generateSigningKeys();
  current = createProvider();
  return sendJson(res, 200, { previous, keys: publishedKeys() });
}

// Completes login (account = login_hint) and consent (everything requested) in one go.
async function interaction(req, res) {
  const { provider } = current;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    return sendJson(res, 400, { error: 'invalid_request', error_description: `interaction: ${err.message}` });
  }
  const { prompt, params, session } = details;

  let accountId = session?.accountId;
  if (prompt.name === 'login' || !accountId) {
    accountId = params.login_hint;
    if (!accountId) {
      return provider.interactionFinished(req, res, {
        error: 'login_required',
        error_description: 'this test provider logs in the account named by login_hint; none given',
      }, { mergeWithLastSubmission: false });
    }
  }
  if (!accounts.has(accountId)) {
    accounts.set(accountId, { sub: accountId, claims: {}, claimsInAccessToken: false });
  }

  const grant = new provider.Grant({ accountId, clientId: params.client_id });
  const scope = params.scope || 'openid';
  grant.addOIDCScope(scope);
  let resources = params.resource;
  if (resources === undefined) resources = ALL_RESOURCES;
  if (!Array.isArray(resources)) resources = [resources];
  for (const resource of resources) grant.addResourceScope(resource, scope);
  const grantId = await grant.save();

  return provider.interactionFinished(req, res, {
    login: { accountId, remember: true },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

// --- userinfo that accepts this provider's JWT access tokens -----------------------------------
// oidc-provider's own userinfo only accepts opaque access tokens without an audience, which is
// not what the service receives; this mirrors what hosted IdPs do with their JWT access tokens.

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function verifyAccessToken(token) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a JWT');
  const header = b64urlJson(parts[0]);
  const payload = b64urlJson(parts[1]);
  const jwk = signingKeys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error('unknown kid (rotated away?)');
  if (header.alg !== jwk.alg) throw new Error('alg mismatch');
  const key = crypto.createPublicKey({ key: publicJwk(jwk), format: 'jwk' });
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const sig = Buffer.from(parts[2], 'base64url');
  const ok = jwk.alg === 'ES256'
    ? crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)
    : crypto.verify('sha256', data, key, sig);
  if (!ok) throw new Error('bad signature');
  if (payload.iss !== ISSUER) throw new Error('wrong issuer');
  if (typeof payload.exp !== 'number' || payload.exp <= Math.floor(Date.now() / 1000)) {
    throw new Error('expired');
  }
  return payload;
}

async function userinfo(req, res) {
  const wwwAuth = (error, description) => `Bearer realm="${ISSUER}", error="${error}", error_description="${description}"`;
  let token;
  const auth = req.headers.authorization || '';
  if (/^bearer /i.test(auth)) token = auth.slice(7).trim();
  if (!token && req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    token = form.get('access_token') || undefined;
  }
  if (!token) {
    return sendJson(res, 401, { error: 'invalid_token', error_description: 'no access token provided' },
      { 'www-authenticate': `Bearer realm="${ISSUER}"` });
  }
  let payload;
  try {
    payload = verifyAccessToken(token);
  } catch (err) {
    return sendJson(res, 401, { error: 'invalid_token', error_description: err.message },
      { 'www-authenticate': wwwAuth('invalid_token', err.message) });
  }
  const scopes = (payload.scope || '').split(' ');
  if (!scopes.includes('openid')) {
    return sendJson(res, 403, { error: 'insufficient_scope', error_description: 'access token missing openid scope' },
      { 'www-authenticate': wwwAuth('insufficient_scope', 'access token missing openid scope') });
  }
  if (!accounts.has(payload.sub)) {
    return sendJson(res, 401, { error: 'invalid_token', error_description: 'unknown subject' },
      { 'www-authenticate': wwwAuth('invalid_token', 'unknown subject') });
  }
  return sendJson(res, 200, accountClaims(payload.sub));
}

// ---------------------------------------------------------------------------------------------

const server = http.createServer(async (req, res) => {
  const { pathname } = new URL(req.url, ISSUER);
  try {
    if (pathname === '/__test/accounts' && req.method === 'POST') return await registerAccount(req, res);
    if (pathname === '/__test/accounts' && req.method === 'GET') return sendJson(res, 200, [...accounts.values()]);
    if (pathname === '/__test/rotate-keys' && req.method === 'POST') return rotateKeys(res);
    if (pathname === '/__test/keys' && req.method === 'GET') return sendJson(res, 200, { keys: publishedKeys() });
    if (pathname.startsWith('/interaction/') && req.method === 'GET') return await interaction(req, res);
    if (pathname === '/me' && (req.method === 'GET' || req.method === 'POST')) return await userinfo(req, res);
    if ((pathname === '/auth' || pathname.startsWith('/auth/')) && req.headers.cookie) {
      // No SSO: every authorization request logs in its login_hint account afresh, even when the
      // test's cookie jar still holds the session of an earlier login (possibly of another user).
      req.headers.cookie = req.headers.cookie.split(';')
        .filter((c) => !/^\s*_session(\.sig)?=/.test(c))
        .join(';');
    }
    return current.handler(req, res);
  } catch (err) {
    console.error('front error:', err);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: err.message });
    else res.end();
  }
});

server.on('error', (err) => {
  console.error(`cannot listen on ${HOST}:${PORT}: ${err.message}`);
  process.exit(1);
});

server.listen(PORT, HOST, () => {
  console.log('ready');
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
