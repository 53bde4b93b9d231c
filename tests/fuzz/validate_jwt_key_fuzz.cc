// Fuzzes validate-jwt's <key> text (policy/validate_jwt.cc): base64 symmetric keys and the PEM
// public keys Gatehouse accepts as an extension, given as a named value as a configuration
// would. The first byte picks a PEM label (or none) put before the rest of the input. Whatever
// the input, a load either succeeds or fails with a message that does not quote the key.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/document.h"
#include "policy/validate_jwt.h"

namespace {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

using namespace gh::policy;

constexpr std::string_view kLabels[] = {"", "PUBLIC KEY", "RSA PUBLIC KEY", "PRIVATE KEY",
                                        "CERTIFICATE"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 4096) return 0;
  const std::string_view label = kLabels[data[0] % std::size(kLabels)];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string key;
  if (!label.empty()) {
    key = "-----BEGIN " + std::string(label) + "-----\n" + std::string(body) + "\n-----END " +
          std::string(label) + "-----\n";
  } else {
    key = std::string(body);
  }
  NamedValues named;
  named["k"] = NamedValue{key, true};
  auto doc = parse_policy_document(
      "<policies><validate-jwt header-name=\"Authorization\"><issuer-signing-keys><key>{{k}}</key>"
      "</issuer-signing-keys></validate-jwt></policies>",
      "fuzz.xml", named);
  if (!doc || doc->children.empty()) return 0;  // the key broke the XML around it
  LoadContext load;
  load.lint = true;
  auto policy = make_validate_jwt(doc->children.front(), load);
  if (!policy && body.size() >= 24) {
    FUZZ_CHECK(policy.error().message.find(body) == std::string::npos);
  }
  return 0;
}
