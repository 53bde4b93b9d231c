// The workload: calls the orders API through the gateway without holding any credential.
//
//   1. a token for api://orders from the managed-identity endpoint (ManagedIdentityCredential);
//   2. the subscription key from the vault (SecretClient, with the same credential);
//   3. GET API_URL with `Authorization: Bearer <token>` and `Ocp-Apim-Subscription-Key`.
//
// Unmodified Azure SDKs (@azure/identity, @azure/keyvault-secrets); they find Gatehouse through
// the environment, as they would find Azure:
//   AZURE_POD_IDENTITY_AUTHORITY_HOST  the managed-identity (IMDS) endpoint, e.g. http://127.0.0.1:8446
//   AZURE_CLIENT_ID                    which identity of this host to use (its client id)
//   VAULT_URL                          e.g. https://127.0.0.1:8445
//   API_URL                            e.g. https://127.0.0.1:8443/orders/status
//   API_SCOPE                          default api://orders/.default
//   SUBSCRIPTION_KEY_SECRET            default orders-subscription-key
//   NODE_EXTRA_CA_CERTS                the CA (or self-signed certificate) of Gatehouse's listeners
//
//   node workload.cjs            one call, with a new credential (so a token issued now)
//   node workload.cjs --every 2  a call every 2 seconds with one credential, as a long-running
//                                service does: the SDK reuses its cached token (see README);
//                                one line per call
//   --new-credential             with --every: a new ManagedIdentityCredential for every call
//                                (msal-node's managed-identity token cache is process-wide, so
//                                this still reuses the cached token)
//   --json                       one JSON object per call instead of text
//
// Prints what it did, never a token or a key: a token is shown by its claims and the first hex
// digits of its SHA-256, the key by the vault secret's version. Exit status: 0 when every call
// answered 200.
"use strict";

const { createHash } = require("node:crypto");
const { ManagedIdentityCredential } = require("@azure/identity");
const { SecretClient } = require("@azure/keyvault-secrets");

const env = process.env;
const args = process.argv.slice(2);
const json = args.includes("--json");
const everyIndex = args.indexOf("--every");
const every = everyIndex >= 0 ? Number(args[everyIndex + 1]) : 0;
const newCredential = args.includes("--new-credential");

function need(name) {
  if (!env[name]) {
    console.error(`workload: ${name} is required`);
    process.exit(2);
  }
  return env[name];
}

const apiUrl = need("API_URL");
const vaultUrl = need("VAULT_URL");
const scope = env.API_SCOPE || "api://orders/.default";
const secretName = env.SUBSCRIPTION_KEY_SECRET || "orders-subscription-key";

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

async function call(credential, secrets, brief) {
  const { token, expiresOnTimestamp } = await credential.getToken(scope);
  const claims = claimsOf(token);
  const secret = await secrets.getSecret(secretName);
  const response = await fetch(apiUrl, {
    headers: { Authorization: `Bearer ${token}`, "Ocp-Apim-Subscription-Key": secret.value },
  });
  const body = await response.text();
  const result = {
    client_id: claims.azp || claims.appid,
    object_id: claims.oid,
    roles: claims.roles || [],
    token_sha256: createHash("sha256").update(token).digest("hex").slice(0, 12),
    token_expires: new Date(expiresOnTimestamp).toISOString(),
    secret_version: secret.properties.version,
    status: response.status,
    body,
  };
  if (json) {
    console.log(JSON.stringify(result));
  } else if (brief) {
    // One line per call: which token (by its hash), its roles, the answer.
    console.log(
      `${new Date().toISOString().slice(11, 19)} token ${result.token_sha256} ` +
        `roles [${result.roles.join(", ")}] -> ${result.status}`);
  } else {
    console.log(
      `token ${result.token_sha256}: client ${result.client_id}, object ${result.object_id}, ` +
        `roles [${result.roles.join(", ")}], expires ${result.token_expires}`);
    console.log(`subscription key: vault secret ${secretName}, version ${result.secret_version}`);
    console.log(`GET ${apiUrl} -> ${result.status} ${body}`);
  }
  return response.status === 200;
}

function clients() {
  const clientId = env.AZURE_CLIENT_ID;
  const credential = new ManagedIdentityCredential(clientId ? { clientId } : {});
  // The vault is not at *.vault.azure.net: accept its 401 challenge for this host.
  const secrets = new SecretClient(vaultUrl, credential, {
    disableChallengeResourceVerification: true,
  });
  return [credential, secrets];
}

async function main() {
  let [credential, secrets] = clients();
  if (!every) {
    process.exitCode = (await call(credential, secrets, false)) ? 0 : 1;
    return;
  }
  for (;;) {
    try {
      if (newCredential) [credential, secrets] = clients();
      await call(credential, secrets, true);
    } catch (e) {
      console.log(json ? JSON.stringify({ error: String(e.message || e) }) : `error: ${e.message || e}`);
    }
    await new Promise((resolve) => setTimeout(resolve, every * 1000));
  }
}

main().catch((e) => {
  console.error(`workload: ${e.message || e}`);
  process.exitCode = 1;
});
