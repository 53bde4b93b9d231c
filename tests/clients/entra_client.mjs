#!/usr/bin/env node
// Gets tokens from Gatehouse with the real Entra client libraries, unchanged but for their
// authority, and verifies each token with `jose` against the JWKS that discovery advertises.
// Prints one JSON line: {"ok":true,"tokens":[{header,claims}...]} or {"ok":false,"error":...}.
//
//   node entra_client.mjs SCENARIO
// Scenarios: msal-node-cert-sha256 | msal-node-cert-sha1 | msal-node-secret | azid-cert |
//   azid-secret | azid-managed-identity | openid-client-basic | openid-client-post
// Environment: AUTHORITY_HOST (https://host:port), TENANT_ID, CLIENT_ID, CLIENT_CERT (PEM file
// with the private key and the certificate), CLIENT_SECRET, SCOPE, EXPECT_AUD, CALLS (default 2),
// MI_CLIENT_ID; NODE_EXTRA_CA_CERTS for the dev CA; AZURE_POD_IDENTITY_AUTHORITY_HOST or
// IDENTITY_ENDPOINT + IDENTITY_HEADER for managed identity.
import { readFileSync } from 'node:fs';
import { createHash, X509Certificate } from 'node:crypto';
import * as msal from '@azure/msal-node';
import { ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential } from '@azure/identity';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';

const env = process.env;
const scenario = process.argv[2];
const authority = `${env.AUTHORITY_HOST}/${env.TENANT_ID}`;
const scope = env.SCOPE;
const calls = Number(env.CALLS || 2);
const host = new URL(env.AUTHORITY_HOST).host;

function certParts() {
  const pem = readFileSync(env.CLIENT_CERT, 'utf8');
  const certPem = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)[0];
  const keyPem = pem.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/)[0];
  const der = new X509Certificate(certPem).raw;
  return {
    pem, certPem, keyPem,
    sha1: createHash('sha1').update(der).digest('hex'),
    sha256: createHash('sha256').update(der).digest('hex'),
  };
}

async function viaMsalNode(kind) {
  const auth = { clientId: env.CLIENT_ID, authority, knownAuthorities: [host] };
  if (kind === 'secret') {
    auth.clientSecret = env.CLIENT_SECRET;
  } else {
    const c = certParts();
    auth.clientCertificate = kind === 'sha1'
      ? { thumbprint: c.sha1, privateKey: c.keyPem }
      : { thumbprintSha256: c.sha256, privateKey: c.keyPem };
  }
  const cca = new msal.ConfidentialClientApplication({ auth });
  const out = [];
  for (let i = 0; i < calls; i++) {
    // The second call skips the cache: the same assertion goes to the server again, as MSAL
    // does for a new scope within 10 minutes.
    const r = await cca.acquireTokenByClientCredential({ scopes: [scope], skipCache: i > 0 });
    out.push(r.accessToken);
  }
  return out;
}

async function viaAzureIdentity(kind) {
  const options = { authorityHost: env.AUTHORITY_HOST, disableInstanceDiscovery: true };
  let cred;
  if (kind === 'cert') {
    cred = new ClientCertificateCredential(env.TENANT_ID, env.CLIENT_ID, { certificatePath: env.CLIENT_CERT }, options);
  } else if (kind === 'secret') {
    cred = new ClientSecretCredential(env.TENANT_ID, env.CLIENT_ID, env.CLIENT_SECRET, options);
  } else {
    cred = new ManagedIdentityCredential({ clientId: env.MI_CLIENT_ID });
  }
  const r = await cred.getToken(scope);
  if (!r || !r.token) throw new Error('no token');
  if (!(r.expiresOnTimestamp > Date.now() + 60_000)) throw new Error(`bad expiresOnTimestamp ${r.expiresOnTimestamp}`);
  return [r.token];
}

async function viaOpenidClient(kind) {
  const issuer = new URL(`${authority}/v2.0`);
  const auth = kind === 'basic' ? oidc.ClientSecretBasic(env.CLIENT_SECRET) : oidc.ClientSecretPost(env.CLIENT_SECRET);
  const config = await oidc.discovery(issuer, env.CLIENT_ID, undefined, auth);
  const r = await oidc.clientCredentialsGrant(config, { scope });
  return [r.access_token];
}

async function verify(token) {
  const header = decodeProtectedHeader(token);
  const docs = {};
  for (const [ver, path] of [['2.0', '/v2.0/.well-known/openid-configuration'], ['1.0', '/.well-known/openid-configuration']]) {
    const res = await fetch(`${authority}${path}`);
    if (!res.ok) throw new Error(`discovery ${path}: HTTP ${res.status}`);
    docs[ver] = await res.json();
  }
  const unverified = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  const doc = docs[unverified.ver] || docs['2.0'];
  const jwks = createRemoteJWKSet(new URL(doc.jwks_uri));
  const { payload } = await jwtVerify(token, jwks, {
    issuer: doc.issuer,
    audience: env.EXPECT_AUD || undefined,
    algorithms: ['RS256', 'ES256'],
  });
  return { header, claims: payload };
}

try {
  let tokens;
  switch (scenario) {
    case 'msal-node-cert-sha256': tokens = await viaMsalNode('sha256'); break;
    case 'msal-node-cert-sha1': tokens = await viaMsalNode('sha1'); break;
    case 'msal-node-secret': tokens = await viaMsalNode('secret'); break;
    case 'azid-cert': tokens = await viaAzureIdentity('cert'); break;
    case 'azid-secret': tokens = await viaAzureIdentity('secret'); break;
    case 'azid-managed-identity': tokens = await viaAzureIdentity('mi'); break;
    case 'openid-client-basic': tokens = await viaOpenidClient('basic'); break;
    case 'openid-client-post': tokens = await viaOpenidClient('post'); break;
    default: throw new Error(`unknown scenario ${scenario}`);
  }
  const verified = [];
  for (const t of tokens) verified.push(await verify(t));
  console.log(JSON.stringify({ ok: true, tokens: verified }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e && (e.errorMessage || e.message) || e), code: e && e.errorCode }));
  process.exitCode = 1;
}
