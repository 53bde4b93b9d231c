// Fuzzes stored client-secret hashes (identity/secret_hash.h): parse_phc on any string, and
// verify_secret when the parameters are cheap. The parser must never accept parameters whose
// cost is unbounded (scrypt_params_allowed: <= 256 MiB, <= 2^22 work), and a parsed hash must
// re-encode to a string that parses to the same thing. Input: "<secret>\n<phc>" (no newline:
// the whole input is the PHC string and the secret is empty).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/encoding.h"
#include "identity/secret_hash.h"

namespace {

// Aborts (a finding) naming the broken invariant.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

std::string unpadded(std::span<const uint8_t> bytes) {
  std::string s = gh::core::base64_encode(bytes);
  while (!s.empty() && s.back() == '=')
    s.pop_back();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view secret = nl == std::string_view::npos ? "" : input.substr(0, nl);
  const std::string_view phc = nl == std::string_view::npos ? input : input.substr(nl + 1);

  auto parsed = gh::identity::parse_phc(phc);
  if (!parsed) {
    FUZZ_CHECK(parsed.error().kind == gh::ErrorKind::InvalidArgument);
    // verify_secret refuses the same strings, without hashing.
    auto verified = gh::identity::verify_secret(secret, phc);
    FUZZ_CHECK(!verified && verified.error().kind == gh::ErrorKind::InvalidArgument);
    return 0;
  }
  const auto& p = parsed->params;
  FUZZ_CHECK(gh::identity::scrypt_params_allowed(p));
  const uint64_t n = uint64_t{1} << p.log2_n;
  FUZZ_CHECK(128 * static_cast<uint64_t>(p.r) * n <= (uint64_t{256} << 20));
  FUZZ_CHECK(n * static_cast<uint64_t>(p.r) * static_cast<uint64_t>(p.p) <= (uint64_t{1} << 22));
  FUZZ_CHECK(parsed->salt.size() >= 8 && parsed->salt.size() <= 64);
  FUZZ_CHECK(parsed->hash.size() >= 16 && parsed->hash.size() <= 64);

  // The canonical form parses back to the same fields.
  const std::string canonical = "$scrypt$ln=" + std::to_string(p.log2_n) +
                                ",r=" + std::to_string(p.r) + ",p=" + std::to_string(p.p) + "$" +
                                unpadded(parsed->salt) + "$" + unpadded(parsed->hash);
  auto again = gh::identity::parse_phc(canonical);
  FUZZ_CHECK(again && again->params.log2_n == p.log2_n && again->params.r == p.r &&
             again->params.p == p.p && again->salt == parsed->salt && again->hash == parsed->hash);

  // Hash only at fuzzing cost (ln=10,r=1,p=1 .. 2^12 work: about a millisecond); the expensive
  // but allowed parameters are covered by the unit tests.
  if (n * static_cast<uint64_t>(p.r) * static_cast<uint64_t>(p.p) <= (uint64_t{1} << 12)) {
    auto verified = gh::identity::verify_secret(secret, phc);
    FUZZ_CHECK(verified.has_value());
    if (*verified) {
      // A match means scrypt(secret) is this hash: recomputing it agrees.
      auto actual = gh::identity::scrypt(secret, parsed->salt, p, parsed->hash.size());
      FUZZ_CHECK(actual && *actual == parsed->hash);
    }
  }
  return 0;
}
