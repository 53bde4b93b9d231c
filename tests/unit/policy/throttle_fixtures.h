#pragma once

// Fixtures for the throttling tests (rate-limit, quota and their counter store): a fake clock
// (time stands still until a test moves it, so windows slide without sleeping) and a gateway's
// worth of request context without the gateway.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "policy/counter_store.h"
#include "policy/document.h"
#include "policy/policy.h"
#include "policy/services.h"

namespace gh::policy::throttle_test {

class FakeClock final : public core::Clock {
 public:
  /// Starts at a whole second, far from the epoch.
  explicit FakeClock(int64_t unix_ms = 1'800'000'000'000) : now_ms_(unix_ms) {}
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  int64_t ms() const noexcept { return now_ms_.load(); }
  void set_ms(int64_t unix_ms) noexcept { now_ms_.store(unix_ms); }
  void advance_ms(int64_t ms) noexcept { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

// ---- Policies under test: a gateway's worth of context without the gateway ----

/// A product, two APIs with two operations each, two subscriptions, counters on a fake clock.
struct Gateway {
  FakeClock clock;
  Services services{clock};
  ProductInfo product{"starter", "Starter", true};
  ApiInfo echo{"echo",
               "Echo API",
               "/echo",
               "http://backend",
               "Ocp-Apim-Subscription-Key",
               "subscription-key"};
  ApiInfo other{
      "other",           "Other API", "/other", "http://backend", "Ocp-Apim-Subscription-Key",
      "subscription-key"};
  OperationInfo get_item{"get-item", "Get item", "GET", "/item"};
  OperationInfo post_item{"post-item", "Post item", "POST", "/item"};
  SubscriptionInfo alice{"sub-alice", "Alice", "/products/starter", &product, 0};
  SubscriptionInfo bob{"sub-bob", "Bob", "/products/starter", &product, 0};

  Gateway() { services.counters = std::make_shared<CounterStore>(clock); }

  LoadContext load(Scope scope) {
    LoadContext l;
    l.scope = scope;
    l.section = Section::Inbound;
    l.services = &services;
    l.api = &echo;
    l.operation = &get_item;
    return l;
  }

  /// The single policy element of `xml`, parsed as the inbound section of a document.
  static Element element(std::string_view xml) {
    auto doc = parse_policy_document(
        "<policies><inbound>" + std::string(xml) + "</inbound></policies>", "test.xml", {});
    EXPECT_TRUE(doc) << (doc ? "" : doc.error().message);
    if (!doc) return {};
    return doc->child("inbound")->children.at(0);
  }

  /// Builds a policy (the test fails if the factory refuses it).
  std::unique_ptr<Policy> make(Factory factory, std::string_view xml,
                               Scope scope = Scope::Product) {
    LoadContext l = load(scope);
    auto made = factory(element(xml), l);
    EXPECT_TRUE(made) << (made ? "" : made.error().message);
    return made ? std::move(*made) : nullptr;
  }

  /// The factory's error message ("" when it accepted the element).
  std::string load_error(Factory factory, std::string_view xml, Scope scope = Scope::Product,
                         bool lint = false) {
    LoadContext l = load(scope);
    l.lint = lint;
    if (lint) l.services = nullptr;
    auto made = factory(element(xml), l);
    return made ? std::string() : made.error().message;
  }

  /// A request by `sub` (null: none) to `api`/`op`.
  std::unique_ptr<RequestContext> request(const SubscriptionInfo* sub, const ApiInfo* api = nullptr,
                                          const OperationInfo* op = nullptr) {
    auto ctx = std::make_unique<RequestContext>(clock);
    ctx->subscription = sub;
    ctx->product = sub ? sub->product : nullptr;
    ctx->api = api ? api : &echo;
    ctx->operation = op ? op : &get_item;
    ctx->request.client_ip = "192.0.2.1";
    return ctx;
  }

  /// Runs the end-of-request hooks as the gateway does.
  static void finish(RequestContext& ctx) {
    for (const Deferred& d : ctx.deferred)
      d.policy->complete(ctx, d);
  }
};

/// The value of a response header the gateway made (ctx.response), or "" when absent.
inline std::string response_header(const RequestContext& ctx, std::string_view name) {
  if (!ctx.response) return {};
  for (const auto& [n, v] : ctx.response->headers)
    if (n == name) return v;
  return {};
}

/// The last value a policy set for a response header (ctx.response_header_changes), or "".
inline std::string header_change(const RequestContext& ctx, std::string_view name) {
  std::string value;
  for (const auto& c : ctx.response_header_changes)
    if (c.name == name && !c.values.empty()) value = c.values.front();
  return value;
}

/// An integer variable's value, or -1 when unset or not an integer.
inline int64_t int_variable(const RequestContext& ctx, std::string_view name) {
  const Value* v = ctx.variable(name);
  if (!v || !std::holds_alternative<int64_t>(*v)) return -1;
  return std::get<int64_t>(*v);
}

}  // namespace gh::policy::throttle_test
