// A stand-in OpenID Connect broker for the tests: panva's oidc-provider on 127.0.0.1, its ID
// tokens and userinfo carrying the CPR claim under NemLog-in's claim name.
//
//   node tests/js/oidc-provider.mjs [port]        (port 0 or none: any free port; also OIDC_PORT)
//
// Prints one line `oidc-provider ready http://127.0.0.1:<port>` when it listens (the issuer).
// Test-only admin routes (loopback only, like the provider itself):
//   POST /admin/client   {"client_id", "client_secret", "redirect_uris", "post_logout_redirect_uris",
//                         "claims_in_id_token"} registers (replaces) the one client; the person's
//                        claims go into userinfo only unless claims_in_id_token (as NemLog-in)
//   POST /admin/rotate   a new signing key first in the JWKS, the old keys kept after it;
//                        answers {"kid": <the new key's kid>}
//   POST /admin/account  {"login", "claims"} replaces the claims of the account `login` (the
//                        same person acting for another organisation, say); "claims": null
//                        gives it back its own
// Logout (RP-initiated) takes GET and POST, as OpenID Connect RP-Initiated Logout 1.0 has a
// provider do. oidc-provider allows POST only when its session cookie is SameSite=None (a form
// POSTed from the client's site must carry it), and browsers keep such a cookie only when it is
// Secure: so it is sent Secure although this server speaks plain http on 127.0.0.1 (Chromium
// keeps Secure cookies from loopback addresses; an httpx client must be told to send them).
// The login page (/interaction/<uid>) asks only for a login name from ACCOUNTS; any password.
// Consent is implied: the login grants the scopes the client asked for, as a broker does.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const CPR_CLAIM = 'https://data.gov.dk/model/core/eid/cprNumber';
const CVR_CLAIM = 'https://data.gov.dk/model/core/eid/professional/cvr';

// Login name -> claims. CPR numbers as NemLog-in sends them: ten digits, no dash.
const ACCOUNTS = {
  ase: { name: 'Åse Ødegård', [CPR_CLAIM]: '0101901234' },
  bo: { name: 'Bo Jensen', [CPR_CLAIM]: '0202854321' },
  lærer: { name: 'Lene Lærer', [CPR_CLAIM]: '0303803333', [CVR_CLAIM]: '12345678' },
  // MitID Erhverv's shape: a staff member of Erhvervsskolen Nordvest (751234, CVR 29183746).
  karin: { name: 'Karin Skov', [CVR_CLAIM]: '29183746' },
};
const ORIGINAL_ACCOUNTS = structuredClone(ACCOUNTS);

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

let keys = [signingKey()];
let client = null;
let provider = null;
let issuer = null;
let claimsInIdToken = false;

function build() {
  provider = new Provider(issuer, {
    clients: client ? [client] : [],
    jwks: { keys },
    cookies: {
      keys: ['test-only-cookie-key'],
      // The session cookie must come along on a logout form POSTed from the client's site
      // (SameSite=None), so it must be Secure; `secure` would be refused on plain http, and
      // the older `secureProxy` sets the flag without that check (a deprecation notice).
      long: { httpOnly: true, sameSite: 'none', secureProxy: true },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    enableHttpPostMethods: true,
    claims: { openid: ['sub', 'name', CPR_CLAIM, CVR_CLAIM] },
    // By default the claims go into userinfo, not the ID token (OpenID Connect Core's
    // reading for the code flow): the client must fetch them.
    conformIdTokenClaims: !claimsInIdToken,
    features: {
      devInteractions: { enabled: false },
      // Pages of our own: the built-in ones load web fonts from the internet.
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page('Log ud af Test-MitID?', `${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Log ud</button>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Logget ud', '<p>Du er logget ud af Test-MitID.</p>');
        },
      },
    },
    pkce: { required: () => true },
    async findAccount(ctx, id) {
      const account = ACCOUNTS[id];
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account }) };
    },
  });
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, content) {
  return `<!doctype html><html lang="da"><head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1>${content}</body></html>`;
}

function loginPage(res, uid, status = 200, error = '') {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(page('Test-MitID', `${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
<label>Brugernavn <input name="login" autofocus></label>
<label>Adgangskode <input name="password" type="password"></label>
<button type="submit">Log ind</button></form>`));
}

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') return loginPage(res, uid);
  const login = new URLSearchParams(await body(req)).get('login') ?? '';
  if (!Object.hasOwn(ACCOUNTS, login)) return loginPage(res, uid, 400, 'Ukendt bruger');
  const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  return provider.interactionFinished(
    req,
    res,
    { login: { accountId: login }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

async function admin(req, res, path) {
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  let answer = {};
  if (path === '/admin/client') {
    const given = JSON.parse(await body(req));
    claimsInIdToken = Boolean(given.claims_in_id_token);
    client = {
      client_id: given.client_id,
      client_secret: given.client_secret,
      redirect_uris: given.redirect_uris,
      post_logout_redirect_uris: given.post_logout_redirect_uris ?? [],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    };
  } else if (path === '/admin/account') {
    const given = JSON.parse(await body(req));
    if (!Object.hasOwn(ORIGINAL_ACCOUNTS, given.login)) {
      res.writeHead(404).end();
      return;
    }
    ACCOUNTS[given.login] = given.claims ?? structuredClone(ORIGINAL_ACCOUNTS[given.login]);
  } else if (path === '/admin/rotate') {
    keys = [signingKey(), ...keys];
    answer = { kid: keys[0].kid };
  } else {
    res.writeHead(404).end();
    return;
  }
  build();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(answer));
}

const server = createServer(async (req, res) => {
  const path = new URL(req.url, issuer).pathname;
  try {
    if (path.startsWith('/admin/')) return await admin(req, res, path);
    const match = path.match(/^\/interaction\/([\w-]+)$/);
    if (match) return await interaction(req, res, match[1]);
    return provider.callback()(req, res);
  } catch (error) {
    console.error(error);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
});

const port = Number(process.argv[2] ?? process.env.OIDC_PORT ?? 0);
server.listen(port, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  build();
  console.log(`oidc-provider ready ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
