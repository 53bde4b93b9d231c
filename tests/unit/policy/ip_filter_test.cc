#include "policy/ip_filter.h"

#include <gtest/gtest.h>

#include <array>

#include "policy/pipeline.h"
#include "policy/registry.h"
#include "support/test_pki.h"

namespace gh::policy {
namespace {

class IpFilterTest : public ::testing::Test {
 protected:
  IpFilterTest() : clock_(1'750'000'000) {}

  Result<std::unique_ptr<Policy>> make(const std::string& xml) {
    auto doc = parse_policy_document("<policies><inbound>\n" + xml + "\n</inbound></policies>",
                                     "api.xml", {});
    EXPECT_TRUE(doc) << doc.error().message;
    if (!doc) return unexpected(doc.error());
    docs_.push_back(std::make_unique<Element>(std::move(*doc)));
    LoadContext load;
    load.scope = Scope::Api;
    return make_ip_filter(docs_.back()->child("inbound")->children.at(0), load);
  }
  std::unique_ptr<Policy> must_make(const std::string& xml) {
    auto p = make(xml);
    EXPECT_TRUE(p) << p.error().message;
    return p ? std::move(*p) : nullptr;
  }
  std::string rejection(const std::string& xml) {
    auto p = make(xml);
    return p ? "" : p.error().message;
  }
  Flow from(const Policy& p, std::string_view ip) {
    last_ = std::make_unique<RequestContext>(clock_);
    last_->request.client_ip = ip;
    return p.apply(*last_);
  }

  test::FixedClock clock_;
  std::unique_ptr<RequestContext> last_;
  std::vector<std::unique_ptr<Element>> docs_;
};

constexpr char kAllow[] = R"x(<ip-filter action="allow">
  <address>13.66.201.169</address>
  <address-range from="13.66.140.128" to="13.66.140.143" />
  <address>10.0.0.0/8</address>
  <address>2001:db8::/32</address>
  <address>::1</address>
</ip-filter>)x";

TEST_F(IpFilterTest, IsRegisteredForInboundAtEveryScope) {
  const PolicyKind* kind = find_policy_kind("ip-filter");
  ASSERT_NE(kind, nullptr);
  EXPECT_EQ(kind->sections, kInbound);
  EXPECT_EQ(kind->scopes, kAnyScope);
}

TEST_F(IpFilterTest, ParsesAddresses) {
  bool v4 = false;
  auto a = parse_ip_address("192.0.2.1", &v4);
  ASSERT_TRUE(a);
  EXPECT_TRUE(v4);
  EXPECT_EQ(a->high, 0u);
  EXPECT_EQ(a->low, 0x0000FFFFC0000201u);
  EXPECT_EQ(parse_ip_address("::ffff:192.0.2.1", &v4), a);  // the mapped form is the same
  EXPECT_FALSE(v4);
  auto b = parse_ip_address("[2001:db8::1%eth0]");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->high, 0x20010DB800000000u);
  EXPECT_EQ(b->low, 1u);
  for (std::string_view bad : {"", "1.2.3", "1.2.3.256", "01.2.3.4", "1.2.3.4 ", "::g", "host",
                               "1.2.3.4/8", "2001:db8::1::2", "1.2.3.4%eth0"})
    EXPECT_FALSE(parse_ip_address(bad)) << bad;
  EXPECT_FALSE(parse_ip_address(std::string(100, '1')));
}

TEST_F(IpFilterTest, AllowLetsListedCallersThrough) {
  auto p = must_make(kAllow);
  ASSERT_TRUE(p);
  for (std::string_view ip : {"13.66.201.169", "13.66.140.128", "13.66.140.135", "13.66.140.143",
                              "10.0.0.0", "10.255.255.255", "::ffff:10.1.2.3", "2001:db8::",
                              "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "::1", "[::1]"})
    EXPECT_EQ(from(*p, ip), Flow::Continue) << ip;
}

TEST_F(IpFilterTest, AllowRefusesOthersWithApimMessage) {
  auto p = must_make(kAllow);
  ASSERT_TRUE(p);
  for (std::string_view ip : {"13.66.201.170", "13.66.140.127", "13.66.140.144", "11.0.0.0",
                              "9.255.255.255", "2001:db9::", "::2", "fe80::1"}) {
    EXPECT_EQ(from(*p, ip), Flow::Error) << ip;
    ASSERT_TRUE(last_->last_error);
    EXPECT_EQ(last_->last_error->source, "ip-filter");
    EXPECT_EQ(last_->last_error->reason, "CallerIpNotAllowed");
    EXPECT_EQ(last_->last_error->message,
              "Caller IP address " + std::string(ip) + " is not allowed. Access denied.");
    ASSERT_TRUE(last_->response);
    EXPECT_EQ(last_->response->status, 403);
    EXPECT_EQ(last_->response->body, "{ \"statusCode\": 403, \"message\": \"Caller IP address " +
                                         std::string(ip) + " is not allowed. Access denied.\" }");
  }
}

TEST_F(IpFilterTest, ForbidBlocksListedCallers) {
  auto p = must_make(R"x(<ip-filter action="forbid">
    <address-range from="192.0.2.0" to="192.0.2.255" />
    <address>2001:db8::bad</address>
  </ip-filter>)x");
  ASSERT_TRUE(p);
  EXPECT_EQ(from(*p, "192.0.2.77"), Flow::Error);
  EXPECT_EQ(last_->last_error->reason, "CallerIpBlocked");
  EXPECT_EQ(last_->last_error->message, "Caller IP address is blocked. Access denied.");
  EXPECT_EQ(last_->response->status, 403);
  EXPECT_EQ(
      last_->response->body,
      "{ \"statusCode\": 403, \"message\": \"Caller IP address is blocked. Access denied.\" }");
  EXPECT_EQ(from(*p, "2001:db8::bad"), Flow::Error);
  EXPECT_EQ(from(*p, "192.0.3.0"), Flow::Continue);
  EXPECT_EQ(from(*p, "2001:db8::bae"), Flow::Continue);
}

TEST_F(IpFilterTest, UnparsableCallerIsFailedToParseCallerIp) {
  for (const char* action : {"allow", "forbid"}) {
    auto p = must_make(std::string("<ip-filter action=\"") + action +
                       "\"><address>1.2.3.4</address></ip-filter>");
    ASSERT_TRUE(p);
    for (std::string_view ip : {"", "unknown", "1.2.3.4:5678"}) {
      EXPECT_EQ(from(*p, ip), Flow::Error) << ip;
      EXPECT_EQ(last_->last_error->reason, "FailedToParseCallerIP");
      EXPECT_EQ(last_->last_error->message,
                "Failed to establish IP address for the caller. Access denied.");
      EXPECT_EQ(last_->response->status, 403);
    }
  }
}

TEST_F(IpFilterTest, OverlappingAndAdjacentRangesMerge) {
  auto p = must_make(R"x(<ip-filter action="allow">
    <address-range from="10.0.0.10" to="10.0.0.20" />
    <address-range from="10.0.0.15" to="10.0.0.30" />
    <address-range from="10.0.0.31" to="10.0.0.40" />
    <address>10.0.0.50</address>
    <address>0.0.0.0/0</address>
  </ip-filter>)x");
  ASSERT_TRUE(p);
  // 0.0.0.0/0 covers every IPv4 address, but no other IPv6 address.
  EXPECT_EQ(from(*p, "203.0.113.1"), Flow::Continue);
  EXPECT_EQ(from(*p, "2001:db8::1"), Flow::Error);
  auto q = must_make(R"x(<ip-filter action="allow">
    <address-range from="10.0.0.10" to="10.0.0.20" />
    <address-range from="10.0.0.15" to="10.0.0.30" />
    <address-range from="10.0.0.31" to="10.0.0.40" />
    <address>10.0.0.50</address>
  </ip-filter>)x");
  ASSERT_TRUE(q);
  for (std::string_view ip : {"10.0.0.10", "10.0.0.25", "10.0.0.31", "10.0.0.40", "10.0.0.50"})
    EXPECT_EQ(from(*q, ip), Flow::Continue) << ip;
  for (std::string_view ip : {"10.0.0.9", "10.0.0.41", "10.0.0.49", "10.0.0.51"})
    EXPECT_EQ(from(*q, ip), Flow::Error) << ip;
  auto all6 = must_make(R"x(<ip-filter action="forbid"><address>::/0</address></ip-filter>)x");
  ASSERT_TRUE(all6);
  EXPECT_EQ(from(*all6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Flow::Error);
  EXPECT_EQ(from(*all6, "1.2.3.4"), Flow::Error);  // ::ffff:1.2.3.4 is inside ::/0
}

TEST_F(IpFilterTest, ActionMayBeAnExpression) {
  auto p = must_make(
      R"x(<ip-filter action="@(context.Request.Headers.ContainsKey(&quot;X-Internal&quot;) ? &quot;allow&quot; : &quot;forbid&quot;)"><address>10.0.0.1</address></ip-filter>)x");
  ASSERT_TRUE(p);
  EXPECT_EQ(from(*p, "10.0.0.1"), Flow::Error);  // forbid
  EXPECT_EQ(last_->last_error->reason, "CallerIpBlocked");
  std::array<HeaderField, 1> internal{{{"X-Internal", "1"}}};
  last_ = std::make_unique<RequestContext>(clock_);
  last_->request.client_ip = "10.0.0.2";
  last_->request.headers = internal;
  EXPECT_EQ(p->apply(*last_), Flow::Error);  // allow, not listed
  EXPECT_EQ(last_->last_error->reason, "CallerIpNotAllowed");

  auto odd = must_make(
      R"x(<ip-filter action="@(&quot;maybe&quot;)"><address>10.0.0.1</address></ip-filter>)x");
  ASSERT_TRUE(odd);
  EXPECT_EQ(from(*odd, "10.0.0.1"), Flow::Error);
  EXPECT_EQ(last_->last_error->reason, "ExpressionValueEvaluationFailure");
  EXPECT_EQ(last_->response->status, 500);
}

TEST_F(IpFilterTest, LoadErrors) {
  EXPECT_EQ(rejection(R"x(<ip-filter><address>1.2.3.4</address></ip-filter>)x"),
            "api.xml:2: <ip-filter>: missing required attribute 'action'");
  EXPECT_EQ(rejection(R"x(<ip-filter action="deny"><address>1.2.3.4</address></ip-filter>)x"),
            "api.xml:2: <ip-filter>: attribute 'action' must be allow or forbid");
  EXPECT_EQ(rejection(R"x(<ip-filter action="allow" />)x"),
            "api.xml:2: <ip-filter>: needs at least one <address> or <address-range>");
  EXPECT_EQ(rejection(R"x(<ip-filter action="allow"><address>1.2.3</address></ip-filter>)x"),
            "api.xml:2: <address>: '1.2.3' is not an IPv4 or IPv6 address");
  EXPECT_EQ(rejection(R"x(<ip-filter action="allow"><address>10.1.0.0/8</address></ip-filter>)x"),
            "api.xml:2: <address>: '10.1.0.0/8' has bits set after the prefix (write the network "
            "address)");
  EXPECT_EQ(rejection(R"x(<ip-filter action="allow"><address>10.0.0.0/33</address></ip-filter>)x"),
            "api.xml:2: <address>: '10.0.0.0/33': the prefix length must be from 0 to 32");
  EXPECT_EQ(rejection(R"x(<ip-filter action="allow"><address>::/129</address></ip-filter>)x"),
            "api.xml:2: <address>: '::/129': the prefix length must be from 0 to 128");
  EXPECT_EQ(
      rejection(
          R"x(<ip-filter action="allow"><address>@(context.Request.IpAddress)</address></ip-filter>)x"),
      "api.xml:2: <address>: addresses do not accept policy expressions");
  EXPECT_EQ(
      rejection(
          R"x(<ip-filter action="allow"><address-range from="10.0.0.9" to="10.0.0.1" /></ip-filter>)x"),
      "api.xml:2: <address-range>: from must not be greater than to");
  EXPECT_EQ(
      rejection(
          R"x(<ip-filter action="allow"><address-range from="10.0.0.1" to="::ffff:10.0.0.9" /></ip-filter>)x"),
      "api.xml:2: <address-range>: from and to must both be IPv4 or both be IPv6");
  EXPECT_EQ(
      rejection(R"x(<ip-filter action="allow"><address-range from="10.0.0.1" /></ip-filter>)x"),
      "api.xml:2: <address-range>: missing required attribute 'to'");
  EXPECT_EQ(
      rejection(
          R"x(<ip-filter action="allow"><address-range from="10.0.0.1" to="10.0.0.2" step="1" /></ip-filter>)x"),
      "api.xml:2: <address-range>: unknown attribute 'step'");
  EXPECT_EQ(rejection(R"x(<ip-filter action="allow"><cidr>10.0.0.0/8</cidr></ip-filter>)x"),
            "api.xml:2: <ip-filter>: unknown child element <cidr> (expected <address> or "
            "<address-range>)");
  EXPECT_EQ(rejection(R"x(<ip-filter action="Allow"><address> 10.0.0.0/8 </address></ip-filter>)x"),
            "");
}

// Global forbids a range, the API allows a narrower one after <base/>: the global refusal wins.
TEST_F(IpFilterTest, ComposesAcrossScopesWithBase) {
  auto global = parse_policy_document(R"x(<policies><inbound>
      <ip-filter action="forbid"><address>10.9.0.0/16</address></ip-filter>
    </inbound><backend /></policies>)x",
                                      "global.xml", {});
  auto api = parse_policy_document(R"x(<policies><inbound>
      <base />
      <ip-filter action="allow"><address>10.0.0.0/8</address></ip-filter>
    </inbound></policies>)x",
                                   "api.xml", {});
  ASSERT_TRUE(global && api);
  std::array<ScopeDocument, 2> scopes{{{Scope::Global, &*global}, {Scope::Api, &*api}}};
  auto pipeline = Pipeline::compile(scopes, LoadContext{});
  ASSERT_TRUE(pipeline) << pipeline.error().message;
  const Program& inbound = (*pipeline)->section(Section::Inbound);
  auto request = [&](std::string_view ip) {
    last_ = std::make_unique<RequestContext>(clock_);
    last_->request.client_ip = ip;
    size_t pc = 0;
    return inbound.run(*last_, pc);
  };
  EXPECT_EQ(request("10.1.2.3"), Flow::Continue);
  EXPECT_EQ(request("10.9.2.3"), Flow::Error);
  EXPECT_EQ(last_->last_error->reason, "CallerIpBlocked");
  EXPECT_EQ(last_->last_error->scope, Scope::Global);
  EXPECT_EQ(request("192.0.2.1"), Flow::Error);
  EXPECT_EQ(last_->last_error->reason, "CallerIpNotAllowed");
  EXPECT_EQ(last_->last_error->scope, Scope::Api);
}

}  // namespace
}  // namespace gh::policy
