// The npm Key Vault clients against Gatehouse's vault, changed only in their URL, credential and
// disableChallengeResourceVerification (the vault is not under *.vault.azure.net). Driven by
// tests/integration/test_vault.py:
//
//   node keyvault_client.mjs <scenario>
//   env: VAULT_URL, AUTHORITY_HOST, TENANT_ID, CLIENT_ID, CLIENT_CERT (PEM key + certificate),
//        NAME (a fresh item name), VALUE / VALUE2 (secret values), NODE_EXTRA_CA_CERTS
//
// Scenarios: secrets, certificates, forbidden. Prints one JSON line {"ok": bool, ...}: what was
// observed (ids, versions, counts, flags), never a secret value or key.

import { ClientCertificateCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { CertificateClient } from '@azure/keyvault-certificates';

const env = process.env;
const scenario = process.argv[2];
const credential = new ClientCertificateCredential(
  env.TENANT_ID, env.CLIENT_ID, { certificatePath: env.CLIENT_CERT },
  { authorityHost: env.AUTHORITY_HOST, disableInstanceDiscovery: true });
const clientOptions = { disableChallengeResourceVerification: true };
const poll = { intervalInMs: 100 };

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}

async function collect(iterable) {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
}

async function errorOf(promise) {
  try {
    await promise;
    return null;
  } catch (e) {
    return { status: e.statusCode, code: e.code, message: String(e.message).slice(0, 300) };
  }
}

async function secrets() {
  const client = new SecretClient(env.VAULT_URL, credential, clientOptions);
  const name = env.NAME;
  const first = await client.setSecret(name, env.VALUE, {
    contentType: 'text/plain', tags: { owner: 'integration' } });
  check(first.value === env.VALUE, 'set returns the value');
  const got = await client.getSecret(name);
  check(got.value === env.VALUE, 'get returns the value');
  check(got.properties.contentType === 'text/plain', 'content type');
  check(got.properties.tags?.owner === 'integration', 'tags');
  const second = await client.setSecret(name, env.VALUE2);
  check(second.properties.version !== first.properties.version, 'a new version');
  check((await client.getSecret(name)).value === env.VALUE2, 'current is the second');
  const pinned = await client.getSecret(name, { version: first.properties.version });
  check(pinned.value === env.VALUE, 'the first version by id');

  const versions = await collect(client.listPropertiesOfSecretVersions(name));
  // Three more secrets so that pages of two need a nextLink.
  for (let i = 0; i < 3; i++) await client.setSecret(`${name}-p${i}`, `page-value-${i}`);
  const pages = [];
  for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 }))
    pages.push(page.map((p) => p.name));
  const listed = pages.flat();

  const updated = await client.updateSecretProperties(name, second.properties.version, {
    enabled: false });
  check(updated.enabled === false, 'disabled');
  const disabled = await errorOf(client.getSecret(name));
  await client.updateSecretProperties(name, second.properties.version, { enabled: true });

  const poller = await client.beginDeleteSecret(name, poll);
  const deleted = await poller.pollUntilDone();
  const afterDelete = await errorOf(client.getSecret(name));
  const deletedInfo = await client.getDeletedSecret(name);
  const reuse = await errorOf(client.setSecret(name, 'reuse'));
  return {
    ok: true,
    id: first.properties.id,
    vaultUrl: got.properties.vaultUrl,
    versions: versions.map((v) => v.version),
    pages: pages.length,
    listed,
    disabled,
    recoveryId: deleted.recoveryId,
    deletedOn: deleted.deletedOn ? deleted.deletedOn.toISOString() : null,
    afterDelete,
    deletedName: deletedInfo.name,
    reuse,
  };
}

async function certificates() {
  const certs = new CertificateClient(env.VAULT_URL, credential, clientOptions);
  const secrets = new SecretClient(env.VAULT_URL, credential, clientOptions);
  const name = env.NAME;
  const poller = await certs.beginCreateCertificate(name, {
    issuerName: 'Self', subject: 'CN=kv-integration.test',
    subjectAlternativeNames: { dnsNames: ['kv-integration.test'] },
    keyType: 'EC', keyCurveName: 'P-256', validityInMonths: 12,
    contentType: 'application/x-pem-file',
  }, poll);
  const created = await poller.pollUntilDone();
  // The create poller reads GET /certificates/{name}/pending; so does this one.
  const operation = (await certs.getCertificateOperation(name, poll)).getOperationState()
    .certificateOperation;
  const cert = await certs.getCertificate(name);
  const secret = await secrets.getSecret(name);
  const pem = secret.value || '';
  const again = await (await certs.beginCreateCertificate(name, {
    issuerName: 'Self', subject: 'CN=kv-integration.test', keyType: 'EC', keyCurveName: 'P-256',
    validityInMonths: 12, contentType: 'application/x-pem-file' }, poll)).pollUntilDone();
  const versions = await collect(certs.listPropertiesOfCertificateVersions(name));
  const all = await collect(certs.listPropertiesOfCertificates());
  const policy = await certs.getCertificatePolicy(name);
  return {
    ok: true,
    createdName: created.name,
    operationStatus: operation?.status,
    id: cert.properties.id,
    version: cert.properties.version,
    cer: Buffer.from(cert.cer).toString('base64'),
    x5t: cert.properties.x509ThumbprintString,
    secretId: cert.secretId,
    secretContentType: secret.properties.contentType,
    secretManaged: secret.properties.managed,
    secretVersion: secret.properties.version,
    pemHasKey: pem.includes('PRIVATE KEY-----'),
    pemHasCertificate: pem.includes('-----BEGIN CERTIFICATE-----'),
    secondVersion: again.properties.version,
    versions: versions.map((v) => v.version),
    listed: all.map((c) => c.name),
    policySubject: policy.subject,
    policyIssuer: policy.issuerName,
  };
}

async function forbidden() {
  const client = new SecretClient(env.VAULT_URL, credential, clientOptions);
  const certs = new CertificateClient(env.VAULT_URL, credential, clientOptions);
  return {
    ok: true,
    get: await errorOf(client.getSecret(env.NAME)),
    set: await errorOf(client.setSecret(env.NAME, env.VALUE)),
    cert: await errorOf(certs.getCertificate(env.NAME)),
  };
}

const scenarios = { secrets, certificates, forbidden };

try {
  if (!scenarios[scenario]) throw new Error('unknown scenario ' + scenario);
  console.log(JSON.stringify(await scenarios[scenario]()));
} catch (e) {
  console.log(JSON.stringify({
    ok: false, error: String(e && e.message).slice(0, 1000), status: e && e.statusCode,
    code: e && e.code }));
}
