#pragma once

// Helpers for the tests of the policies that change the request and response or pick the
// backend: elements from XML text, a request with its own header storage, a fake backend
// catalog and token source, and running apply_async on an io_context.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/asio.h"
#include "policy/document.h"
#include "policy/policy.h"
#include "policy/token_provider.h"
#include "throttle_fixtures.h"

namespace gh::policy::xform_test {

using throttle_test::FakeClock;

/// The first element of an <inbound> made of `xml` (file "test.xml", line 1 unless `xml` has
/// line breaks); an empty element named "parse-error" when the text does not parse.
inline Element element(std::string_view xml, const NamedValues& named_values = {}) {
  auto doc = parse_policy_document(
      "<policies><inbound>" + std::string(xml) + "</inbound></policies>", "test.xml", named_values);
  EXPECT_TRUE(doc) << doc.error().message;
  if (!doc || doc->children.empty() || doc->children[0].children.empty())
    return Element{"parse-error", {}, {}, {}, {}, 0};
  return doc->children[0].children[0];
}

/// Builds `xml` with `make` as if written in `section`.
inline Result<std::unique_ptr<Policy>> build(Factory make, std::string_view xml,
                                             Section section = Section::Inbound,
                                             LoadContext load = {}) {
  load.section = section;
  return make(element(xml), load);
}

/// The load error's text ("" when the load succeeded, which the caller then reports).
inline std::string load_error(Factory make, std::string_view xml,
                              Section section = Section::Inbound, LoadContext load = {}) {
  auto made = build(make, xml, section, load);
  return made ? std::string() : made.error().message;
}

/// A request context with header storage of its own.
class TestRequest {
 public:
  explicit TestRequest(std::string method = "GET",
                       std::vector<std::pair<std::string, std::string>> headers = {})
      : method_(std::move(method)), headers_(std::move(headers)), ctx(clock) {
    for (const auto& [name, value] : headers_)
      fields_.push_back(HeaderField{name, value});
    ctx.request.method = method_;
    ctx.request.target = "/api/items";
    ctx.request.path = "/api/items";
    ctx.request.headers = fields_;
  }
  TestRequest(const TestRequest&) = delete;
  TestRequest& operator=(const TestRequest&) = delete;

 private:
  std::string method_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::vector<HeaderField> fields_;

 public:
  FakeClock clock;
  RequestContext ctx;
};

/// The only change recorded for `name` in `changes`, or null (several: a test failure).
inline const FieldChange* change_named(const std::vector<FieldChange>& changes,
                                       std::string_view name) {
  const FieldChange* found = nullptr;
  for (const auto& c : changes) {
    if (c.name != name) continue;
    EXPECT_EQ(found, nullptr) << "several changes for " << name;
    found = &c;
  }
  return found;
}

/// The value of the only header `name` in a gateway response ("<absent>" when there is none).
inline std::string header_of(const GatewayResponse& response, std::string_view name) {
  std::string found = "<absent>";
  int count = 0;
  for (const auto& [n, v] : response.headers) {
    if (n != name) continue;
    found = v;
    ++count;
  }
  EXPECT_LE(count, 1) << "several " << name << " headers";
  return found;
}

class FakeBackendCatalog final : public BackendCatalog {
 public:
  std::map<std::string, int, std::less<>> by_id;
  std::map<std::string, int, std::less<>> by_url;
  std::map<std::string, int, std::less<>> cert_by_id;
  std::map<std::string, int, std::less<>> cert_by_thumbprint;
  int calls = 0;

  Result<int> backend_by_id(std::string_view id) override { return find(by_id, id, "backend"); }
  Result<int> backend_by_url(std::string_view url) override { return find(by_url, url, "url"); }
  Result<int> client_certificate_by_id(std::string_view id) override {
    return find(cert_by_id, id, "certificate");
  }
  Result<int> client_certificate_by_thumbprint(std::string_view sha1) override {
    return find(cert_by_thumbprint, sha1, "thumbprint");
  }

 private:
  Result<int> find(const std::map<std::string, int, std::less<>>& m, std::string_view key,
                   std::string_view what) {
    ++calls;
    auto it = m.find(key);
    if (it == m.end())
      return unexpected(ErrorKind::NotFound,
                        std::string(what) + " '" + std::string(key) + "' is not configured");
    return it->second;
  }
};

/// A token source that answers from `next` and counts its calls.
class FakeTokenProvider final : public TokenProvider {
 public:
  Result<AccessToken> next = AccessToken{"token-1", 0};
  int calls = 0;
  std::string last_resource;
  std::string last_client_id;

  net::awaitable<Result<AccessToken>> token(std::string resource, std::string client_id) override {
    ++calls;
    last_resource = std::move(resource);
    last_client_id = std::move(client_id);
    co_return next;
  }
};

inline net::awaitable<void> run_apply_async(const Policy* policy, RequestContext* ctx, Flow* out) {
  *out = co_await policy->apply_async(*ctx);
}

/// Runs policy.apply_async(ctx) to completion on an io_context of its own.
inline Flow apply_async_now(const Policy& policy, RequestContext& ctx) {
  net::asio::io_context io(1);
  Flow out = Flow::Error;
  bool finished = false;
  net::asio::co_spawn(io.get_executor(), run_apply_async(&policy, &ctx, &out),
                      [&finished](std::exception_ptr) { finished = true; });
  io.run();
  EXPECT_TRUE(finished);
  return out;
}

}  // namespace gh::policy::xform_test
