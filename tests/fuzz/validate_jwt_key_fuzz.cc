// Fuzzes validate-jwt's <key> text (policy/validate_jwt.cc): base64 symmetric keys and the PEM
// public keys Gatehouse accepts as an extension, given as a named value as a configuration
// would. The first byte picks a PEM label (or none) put before the rest of the input. Whatever
// the input, a load either succeeds or fails with a message that does not quote the key (an
// input that is itself a piece of the message's fixed text is told apart by a variant of it).

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

// Whether loading the key `body` (after `label`'s PEM armour, if any) fails with a message that
// contains `body`.
bool message_quotes(std::string_view label, std::string_view body) {
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
  if (!doc || doc->children.empty()) return false;  // the key broke the XML around it
  LoadContext load;
  load.lint = true;
  auto policy = make_validate_jwt(doc->children.front(), load);
  return !policy && policy.error().message.find(body) != std::string::npos;
}

// `s` with every letter's case swapped and every digit moved on by one: a different key of the
// same shape, which a message that really quotes its key would quote as well.
std::string variant_of(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      c = static_cast<char>(c ^ 0x20);
    } else if (c >= '0' && c <= '9') {
      c = static_cast<char>('0' + (c - '0' + 1) % 10);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 4096) return 0;
  const std::string_view label = kLabels[data[0] % std::size(kLabels)];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  if (body.size() < 24 || !message_quotes(label, body)) return 0;
  // The input may simply be a piece of the message's own fixed text (the fuzzer steers towards
  // the strings the code compares and prints): a leak is a message that quotes the variant too.
  FUZZ_CHECK(!message_quotes(label, variant_of(body)));
  return 0;
}
