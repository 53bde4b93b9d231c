#include "gateway/route_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gh::gateway {
namespace {

config::Api api(std::string name, std::string path, std::string host = "",
                std::string backend = "b1") {
  config::Api a;
  a.name = std::move(name);
  a.path = std::move(path);
  a.host = std::move(host);
  a.backend_id = std::move(backend);
  return a;
}

config::Operation op(std::string name, std::string method, std::string url_template) {
  config::Operation o;
  o.name = std::move(name);
  o.method = std::move(method);
  o.url_template = std::move(url_template);
  o.where = {"gatehouse.yaml", 42};
  return o;
}

const std::vector<std::string> kBackends = {"b0", "b1", "b2"};

RouteTable build(const std::vector<config::Api>& apis) {
  auto t = RouteTable::build(apis, kBackends);
  EXPECT_TRUE(t) << (t ? "" : t.error().message);
  return t ? std::move(*t) : RouteTable{};
}

// The API a request lands on, or "" for none (404).
std::string api_of(const RouteTable& t, std::string_view host, std::string_view path,
                   std::string_view method = "GET") {
  auto m = t.match(host, path, method);
  return m.route ? m.route->api_name : "";
}

std::string operation_of(const RouteTable& t, std::string_view path, std::string_view method) {
  auto m = t.match("h", path, method);
  if (!m.route) return "<404>";
  return m.operation ? m.operation->name : "<api>";
}

TEST(RouteTable, LongestPrefixWinsRegardlessOfOrder) {
  auto t = build({api("short", "/api"), api("long", "/api/orders"), api("mid", "/api/ord")});
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(api_of(t, "h", "/api/orders/7"), "long");
  EXPECT_EQ(api_of(t, "h", "/api/orders"), "long");
  EXPECT_EQ(api_of(t, "h", "/api/ord/1"), "mid");
  EXPECT_EQ(api_of(t, "h", "/api/other"), "short");
  EXPECT_EQ(api_of(t, "h", "/api"), "short");
  EXPECT_EQ(api_of(t, "h", "/nope"), "");
}

TEST(RouteTable, PrefixMatchesOnlyOnSegmentBoundary) {
  auto t = build({api("orders", "/orders")});
  EXPECT_EQ(api_of(t, "h", "/orders"), "orders");
  EXPECT_EQ(api_of(t, "h", "/orders/"), "orders");
  EXPECT_EQ(api_of(t, "h", "/orders/1"), "orders");
  EXPECT_EQ(api_of(t, "h", "/ordersx"), "");
  EXPECT_EQ(api_of(t, "h", "/orders-old/1"), "");
  EXPECT_EQ(api_of(t, "h", "/order"), "");
  EXPECT_EQ(api_of(t, "h", "/Orders"), "");  // paths are case-sensitive
}

TEST(RouteTable, SegmentBoundaryFallsBackToShorterPrefix) {
  auto t = build({api("orders", "/orders"), api("all", "/")});
  EXPECT_EQ(api_of(t, "h", "/ordersx"), "all");
  EXPECT_EQ(api_of(t, "h", "/orders/x"), "orders");
}

TEST(RouteTable, SlashIsCatchAll) {
  auto t = build({api("all", "/")});
  EXPECT_EQ(api_of(t, "h", "/"), "all");
  EXPECT_EQ(api_of(t, "h", "/anything/at/all"), "all");
  EXPECT_EQ(api_of(t, "other.example", "/x"), "all");
}

TEST(RouteTable, HostMatchIsCaseInsensitiveAndIgnoresPort) {
  auto t = build({api("a", "/", "API.Example.com")});
  EXPECT_EQ(api_of(t, "api.example.com", "/x"), "a");
  EXPECT_EQ(api_of(t, "Api.EXAMPLE.com:8443", "/x"), "a");
  EXPECT_EQ(api_of(t, "api.example.com:", "/x"), "a");
  EXPECT_EQ(api_of(t, "api.example.org", "/x"), "");
  EXPECT_EQ(api_of(t, "api.example.com.evil", "/x"), "");
  EXPECT_EQ(api_of(t, "", "/x"), "");
}

TEST(RouteTable, Ipv6LiteralHost) {
  auto t = build({api("v6", "/", "[2001:DB8::1]"), api("any", "/other")});
  EXPECT_EQ(api_of(t, "[2001:db8::1]", "/x"), "v6");
  EXPECT_EQ(api_of(t, "[2001:db8::1]:8443", "/x"), "v6");
  EXPECT_EQ(api_of(t, "[2001:db8::2]:8443", "/x"), "");
  EXPECT_EQ(api_of(t, "[2001:db8::2]", "/other/1"), "any");
}

TEST(RouteTable, HostSpecificBeforeHostlessWithSamePrefix) {
  // Declared host-less first: order of declaration must not matter.
  auto t = build({api("generic", "/orders"), api("tenant", "/orders", "tenant.example"),
                  api("root", "/", "", "b2")});
  EXPECT_EQ(api_of(t, "tenant.example", "/orders/1"), "tenant");
  EXPECT_EQ(api_of(t, "tenant.example:443", "/orders"), "tenant");
  EXPECT_EQ(api_of(t, "other.example", "/orders/1"), "generic");
  EXPECT_EQ(api_of(t, "tenant.example", "/x"), "root");
  auto m = t.match("tenant.example", "/x", "GET");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->backend_index, 2u);
}

TEST(RouteTable, LongerHostlessPrefixBeatsShorterHostSpecificOne) {
  auto t = build({api("tenant-root", "/", "tenant.example"), api("orders", "/orders")});
  EXPECT_EQ(api_of(t, "tenant.example", "/orders/1"), "orders");
  EXPECT_EQ(api_of(t, "tenant.example", "/users"), "tenant-root");
  EXPECT_EQ(api_of(t, "else.example", "/users"), "");
}

TEST(RouteTable, RouteFieldsAreCompiled) {
  auto a = api("orders", "/orders", "Shop.Example", "b2");
  a.strip_path = true;
  auto t = build({a});
  auto m = t.match("shop.example", "/orders/1", "GET");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->path, "/orders");
  EXPECT_EQ(m.route->host, "shop.example");
  EXPECT_EQ(m.route->backend_index, 2u);
  EXPECT_TRUE(m.route->strip_path);
  EXPECT_EQ(m.operation, nullptr);
}

TEST(RouteTable, OperationsWithTemplates) {
  auto a = api("orders", "/api");
  a.operations = {op("list", "GET", "/orders"), op("get", "GET", "/orders/{id}"),
                  op("create", "POST", "/orders"), op("line", "GET", "/orders/{id}/lines/{line}"),
                  op("root", "GET", "/")};
  auto t = build({a});
  EXPECT_EQ(operation_of(t, "/api/orders", "GET"), "list");
  EXPECT_EQ(operation_of(t, "/api/orders", "POST"), "create");
  EXPECT_EQ(operation_of(t, "/api/orders/17", "GET"), "get");
  EXPECT_EQ(operation_of(t, "/api/orders/17/lines/3", "GET"), "line");
  EXPECT_EQ(operation_of(t, "/api", "GET"), "root");
  EXPECT_EQ(operation_of(t, "/api/", "GET"), "root");
  // A parameter matches exactly one non-empty segment.
  EXPECT_EQ(operation_of(t, "/api/orders/", "GET"), "<404>");
  EXPECT_EQ(operation_of(t, "/api/orders/17/", "GET"), "<404>");
  EXPECT_EQ(operation_of(t, "/api/orders/17/lines", "GET"), "<404>");
  EXPECT_EQ(operation_of(t, "/api/orders/17/lines/3/x", "GET"), "<404>");
  // Methods are exact.
  EXPECT_EQ(operation_of(t, "/api/orders/17", "DELETE"), "<404>");
  EXPECT_EQ(operation_of(t, "/api/orders", "get"), "<404>");
  auto m = t.match("h", "/api/orders/17/lines/3", "GET");
  ASSERT_TRUE(m.operation);
  EXPECT_EQ(m.operation->segments, (std::vector<std::string>{"orders", "id", "lines", "line"}));
  EXPECT_EQ(m.operation->is_param, (std::vector<bool>{false, true, false, true}));
}

TEST(RouteTable, FirstMatchingOperationWinsAndStarMethod) {
  auto a = api("x", "/x");
  a.operations = {op("literal", "GET", "/items/special"), op("param", "*", "/items/{id}")};
  auto t = build({a});
  EXPECT_EQ(operation_of(t, "/x/items/special", "GET"), "literal");
  EXPECT_EQ(operation_of(t, "/x/items/special", "DELETE"), "param");
  EXPECT_EQ(operation_of(t, "/x/items/7", "PATCH"), "param");
  EXPECT_EQ(operation_of(t, "/x/items/7", "BREW"), "param");
}

TEST(RouteTable, NoFallthroughToShorterApiWhenOperationsDoNotMatch) {
  auto orders = api("orders", "/api/orders");
  orders.operations = {op("get", "GET", "/{id}")};
  auto t = build({api("api", "/api"), orders, api("all", "/")});
  EXPECT_EQ(operation_of(t, "/api/orders/1", "GET"), "get");
  // The longest API owns /api/orders: POST, or a deeper path, is a 404, not "api" or "all".
  EXPECT_EQ(operation_of(t, "/api/orders/1", "POST"), "<404>");
  EXPECT_EQ(operation_of(t, "/api/orders/1/2", "GET"), "<404>");
  EXPECT_EQ(api_of(t, "h", "/api/orders/1", "POST"), "");
  EXPECT_EQ(operation_of(t, "/api/other", "POST"), "<api>");
}

TEST(RouteTable, UnknownBackendFailsBuildWithClearMessage) {
  auto r = RouteTable::build({api("orders", "/orders", "", "missing-backend")}, kBackends);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(r.error().message.find("orders"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("missing-backend"), std::string::npos) << r.error().message;
}

TEST(RouteTable, TemplateWithoutLeadingSlashFailsBuildWithLocation) {
  auto a = api("orders", "/orders");
  a.operations = {op("bad", "GET", "items/{id}")};
  auto r = RouteTable::build({a}, kBackends);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("gatehouse.yaml:42"), std::string::npos) << r.error().message;
}

TEST(PathOf, StripsQuery) {
  EXPECT_EQ(path_of("/a/b?x=1?y"), "/a/b");
  EXPECT_EQ(path_of("/a"), "/a");
  EXPECT_EQ(path_of("?x"), "");
}

}  // namespace
}  // namespace gh::gateway

namespace gh::gateway {
namespace {

TEST(RouteTable, MatchedParametersNameEachTemplateSegment) {
  auto a = api("orders", "/orders");
  a.operations.push_back(op("item", "GET", "/{id}/items/{item}"));
  auto t = build({a});
  auto m = t.match("h", "/orders/42/items/x-1", "GET");
  ASSERT_NE(m.operation, nullptr);
  std::vector<std::pair<std::string_view, std::string_view>> params;
  matched_parameters(*m.route, *m.operation, "/orders/42/items/x-1", params);
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0], std::make_pair(std::string_view("id"), std::string_view("42")));
  EXPECT_EQ(params[1], std::make_pair(std::string_view("item"), std::string_view("x-1")));
}

}  // namespace
}  // namespace gh::gateway
