// Fuzzes the distinguished-name parser and matcher of validate-client-certificate's `subject`
// and `issuer-subject` (policy/distinguished_name.h).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/ossl_ptr.h"
#include "policy/distinguished_name.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static X509_NAME* name = [] {
    X509_NAME* n = X509_NAME_new();
    auto add = [n](const char* type, const char* value, int set) {
      X509_NAME_add_entry_by_txt(n, type, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value), -1, -1, set);
    };
    add("C", "US", 0);
    add("O", "Contoso, Inc.", 0);
    add("CN", "client", 0);
    add("UID", "7", -1);
    return n;
  }();
  auto dn = gh::policy::DistinguishedName::parse(text);
  if (dn) (void)dn->matches(name);
  (void)gh::policy::folded_equals(gh::policy::fold_name_value(text), text);
  return 0;
}
