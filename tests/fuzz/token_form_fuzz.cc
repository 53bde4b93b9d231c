// Fuzzes the token endpoint's request parsing (identity/token_request.h): the form body, query
// parameters and the v2 scope -> resource rule. Besides "no crash", checks what callers rely on:
// every value is a view into the body or into the one storage buffer, which never reallocates
// (decoded text is never longer than its input), and the parser agrees with a naive reference
// (decode every name and value into its own string) on errors and values.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "core/strings.h"
#include "identity/entra_error.h"
#include "identity/token_request.h"

namespace {

using gh::identity::TokenForm;

bool within(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  const auto* b = whole.data();
  return part.data() >= b && part.data() + part.size() <= b + whole.size();
}

// Aborts (a finding) naming the broken invariant.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

// The reference: every pair decoded into fresh strings. nullopt = malformed percent-encoding
// in a value we keep; "dup" set when one of our names repeats with a non-empty earlier value.
struct Reference {
  std::array<std::string, 9> values;
  bool duplicate = false;
  bool malformed = false;
};

constexpr std::array<std::string_view, 9> kNames = {
    "grant_type", "client_id", "client_secret", "client_assertion_type", "client_assertion",
    "scope",      "resource",  "claims",        "client-request-id"};

std::optional<std::string> decode(std::string_view in) {
  std::string out;
  if (!gh::identity::form_url_decode(in, out)) return std::nullopt;
  return out;
}

Reference reference_parse(std::string_view body) {
  Reference r;
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const auto name = decode(pair.substr(0, eq));
    if (!name) continue;  // a malformed name is none of ours
    const std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    for (size_t i = 0; i < kNames.size(); ++i) {
      const bool match =
          i == kNames.size() - 1 ? gh::core::iequals(*name, kNames[i]) : *name == kNames[i];
      if (!match) continue;
      if (!r.values[i].empty()) {
        r.duplicate = true;
        return r;
      }
      const auto decoded = decode(value);
      if (!decoded) {
        r.malformed = true;
        return r;
      }
      r.values[i] = *decoded;
      break;
    }
  }
  return r;
}

void check_form(std::string_view body) {
  std::string storage;
  auto form = gh::identity::parse_token_form(body, storage);
  const char* const buffer = storage.data();
  const size_t capacity = storage.capacity();
  const Reference ref = reference_parse(body);
  if (!form) {
    const int code = gh::identity::aadsts_of(form.error());
    FUZZ_CHECK(ref.duplicate || ref.malformed);
    FUZZ_CHECK(code == (ref.duplicate ? gh::identity::aadsts::kDuplicateParameter
                                      : gh::identity::aadsts::kMalformedRequest));
    return;
  }
  FUZZ_CHECK(!ref.duplicate && !ref.malformed);
  FUZZ_CHECK(storage.size() <= body.size());
  FUZZ_CHECK(storage.data() == buffer && storage.capacity() == capacity);
  const std::array<std::string_view, 9> got = {
      form->grant_type,       form->client_id, form->client_secret, form->client_assertion_type,
      form->client_assertion, form->scope,     form->resource,      form->claims,
      form->client_request_id};
  for (size_t i = 0; i < got.size(); ++i) {
    FUZZ_CHECK(within(got[i], body) || within(got[i], storage));
    FUZZ_CHECK(got[i].size() <= body.size());
    FUZZ_CHECK(got[i] == ref.values[i]);
  }
  if (!form->scope.empty()) {
    auto resource = gh::identity::resource_from_scope(form->scope);
    if (resource) {
      // A non-empty part of the scope itself, which named it with "/.default".
      FUZZ_CHECK(!resource->empty() && within(*resource, form->scope));
      const std::string_view rest = form->scope.substr(
          static_cast<size_t>(resource->data() - form->scope.data()) + resource->size());
      FUZZ_CHECK(rest.size() >= 9 && gh::core::iequals(rest.substr(0, 9), "/.default"));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_form(text);
  (void)gh::identity::resource_from_scope(text);
  (void)gh::identity::is_form_content_type(text);

  std::string storage;
  for (std::string_view name : {"client-request-id", "api-version", "resource"}) {
    const std::string_view v = gh::identity::query_parameter(text, name, storage);
    FUZZ_CHECK(within(v, text) || within(v, storage));
    FUZZ_CHECK(v.size() <= text.size());
  }
  return 0;
}
