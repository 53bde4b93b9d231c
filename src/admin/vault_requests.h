#pragma once

// The request bodies of the vault's admin API (vault_api.h), parsed into the store's types.
// Kept apart from the handler so that they are tested and fuzzed without a store. Every error is
// InvalidArgument naming the field (never quoting a value: a body may carry a secret).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "vault/model.h"

namespace gh::admin {

/// PUT /v1/vault/secrets/{name}: {"value": "...", "content_type": "...", "enabled": true,
/// "not_before": T, "expires": T, "tags": {"k": "v"}} where T is Unix seconds or a UTC time
/// "2027-01-31T00:00:00Z". `value` is required; the store checks its size and the name.
Result<vault::NewSecret> parse_secret_request(std::string_view name, std::string_view body);

struct CertificateRequest {
  vault::CertificatePolicy policy;
  vault::Tags tags;
};
/// POST /v1/vault/certificates/{name}: {"policy": {"subject": "CN=..", "dns_names": [..],
/// "key_type": "RSA|EC", "key_size": 2048, "curve": "P-256", "validity_months": 12, "issuer":
/// "Self", "content_type": "application/x-pem-file|application/x-pkcs12",
/// "renew_days_before_expiry": N, "renew_at_lifetime_percentage": P, "exportable": true},
/// "tags": {..}}. Without either renewal field the certificate renews at 80% of its lifetime,
/// Key Vault's default; both 0 means never.
Result<CertificateRequest> parse_certificate_request(std::string_view body);

struct ImportRequest {
  std::string data;  // PEM text, or the PKCS#12 bytes (decoded from base64)
  std::string password;
  vault::Tags tags;
};
/// POST /v1/vault/certificates/{name}/import: {"value": PEM text or base64 PKCS#12,
/// "password": "...", "tags": {..}}.
Result<ImportRequest> parse_import_request(std::string_view body);

struct ExportRequest {
  std::string format = "pem";  // "pem" | "pfx"
  std::string version;         // "" = the current one
  std::string password;        // PKCS#12 only
};
/// POST /v1/vault/certificates/{name}/export: {"format": "pem|pfx", "version": "...",
/// "password": "..."} (the password travels in the body, never in a URL).
Result<ExportRequest> parse_export_request(std::string_view body);

/// "YYYY-MM-DDTHH:MM:SSZ" (UTC, whole seconds) as Unix seconds; InvalidArgument otherwise.
Result<int64_t> parse_utc_time(std::string_view text);

}  // namespace gh::admin
