#include <gtest/gtest.h>

#include <string>

#include "config/proxy_config_loader.h"

namespace gh::config {
namespace {

using std::chrono::milliseconds;

constexpr const char* kMinimal = R"(listeners:
  - address: 127.0.0.1:8080
apis:
  - name: all
    backend_url: http://127.0.0.1:9000
)";

Result<ProxyConfig> parse(std::string_view text,
                          std::map<std::string, std::string, std::less<>> vars = {}) {
  return parse_proxy_config(text, "gatehouse.yaml", "/etc/gh", fixed_environment(std::move(vars)));
}

// The whole error text; fails the test when parsing succeeded.
std::string error_of(std::string_view text,
                     std::map<std::string, std::string, std::less<>> vars = {}) {
  auto r = parse(text, std::move(vars));
  EXPECT_FALSE(r) << "expected an error for:\n" << text;
  return r ? std::string() : r.error().message;
}

// The minimal config with extra text appended (top-level keys).
std::string with(std::string_view extra) {
  return std::string(kMinimal) + std::string(extra);
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "in: " << (haystack)

TEST(ProxyConfigParser, MinimalConfigGetsDefaults) {
  auto c = parse(kMinimal);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->listeners.size(), 1u);
  EXPECT_EQ(c->listeners[0].name, "listener-0");
  EXPECT_EQ(c->listeners[0].host, "127.0.0.1");
  EXPECT_EQ(c->listeners[0].port, 8080);
  EXPECT_FALSE(c->listeners[0].tls);
  EXPECT_EQ(c->listeners[0].where.file, "gatehouse.yaml");
  EXPECT_EQ(c->listeners[0].where.line, 2);
  EXPECT_FALSE(c->admin);
  EXPECT_EQ(c->workers, 0u);
  EXPECT_EQ(c->limits.max_header_bytes, 16384u);
  EXPECT_EQ(c->timeouts.header_read, milliseconds(10'000));
  EXPECT_EQ(c->access_log, "stdout");
  EXPECT_EQ(c->source_file, "gatehouse.yaml");
  ASSERT_EQ(c->apis.size(), 1u);
  EXPECT_EQ(c->apis[0].path, "");
  EXPECT_EQ(c->apis[0].where.line, 4);
  // An inline backend_url becomes a synthetic backend.
  EXPECT_EQ(c->apis[0].backend_id, "api:all");
  ASSERT_EQ(c->backends.size(), 1u);
  EXPECT_EQ(c->backends[0].id, "api:all");
  EXPECT_EQ(c->backends[0].scheme, "http");
  EXPECT_EQ(c->backends[0].port, 9000);
  EXPECT_EQ(c->backends[0].where.line, 4);
}

TEST(ProxyConfigParser, FullConfig) {
  auto c = parse(R"(workers: 4
listeners:
  - name: public
    address: "[::1]:8443"
    tls:
      certificates:
        - cert: certs/server.pem
          key: /abs/server.key
      client_certificate: optional
      client_ca: ca.pem
      min_version: "1.3"
admin:
  address: 127.0.0.1:9901
limits:
  max_header_bytes: 32KiB
  max_header_count: 50
  max_uri_length: 4096
  max_body_bytes: 1MiB
timeouts:
  header_read: 250ms
  idle: 5m
  backend_connect: 2
  backend_response: 1h
  drain: 0
backends:
  - id: origin
    url: https://api.internal:8443/base/
    tls:
      ca: ../ca/backend.pem
      verify: false
      server_name: API.internal
      pinned_sha256: ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB
      client_cert: gw.pem
      client_key: gw.key
    max_idle_connections: 8
apis:
  - name: orders
    path: /orders/
    host: Api.Example.com
    backend: origin
    strip_path: true
    operations:
      - name: get-order
        method: get
        url_template: /{id}
      - name: any
        method: "*"
        url_template: /
access_log: logs/access.log
trusted_proxies: [10.0.0.0/8]
)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->workers, 4u);
  const Listener& l = c->listeners[0];
  EXPECT_EQ(l.name, "public");
  EXPECT_EQ(l.host, "::1");
  EXPECT_EQ(l.port, 8443);
  ASSERT_TRUE(l.tls);
  ASSERT_EQ(l.tls->certificates.size(), 1u);
  EXPECT_EQ(l.tls->certificates[0].cert, "/etc/gh/certs/server.pem");
  EXPECT_EQ(l.tls->certificates[0].key, "/abs/server.key");
  EXPECT_EQ(l.tls->client_certificate, ClientCertMode::Optional);
  EXPECT_EQ(l.tls->client_ca, "/etc/gh/ca.pem");
  EXPECT_EQ(l.tls->min_version, TlsVersion::V1_3);
  ASSERT_TRUE(c->admin);
  EXPECT_EQ(c->admin->name, "admin");
  EXPECT_EQ(c->admin->port, 9901);
  EXPECT_EQ(c->limits.max_header_bytes, 32768u);
  EXPECT_EQ(c->limits.max_header_count, 50u);
  EXPECT_EQ(c->limits.max_uri_length, 4096u);
  EXPECT_EQ(c->limits.max_body_bytes, 1048576u);
  EXPECT_EQ(c->timeouts.header_read, milliseconds(250));
  EXPECT_EQ(c->timeouts.idle, milliseconds(300'000));
  EXPECT_EQ(c->timeouts.backend_connect, milliseconds(2'000));
  EXPECT_EQ(c->timeouts.backend_response, milliseconds(3'600'000));
  EXPECT_EQ(c->timeouts.drain, milliseconds(0));
  ASSERT_EQ(c->backends.size(), 1u);
  const Backend& b = c->backends[0];
  EXPECT_EQ(b.id, "origin");
  EXPECT_EQ(b.scheme, "https");
  EXPECT_EQ(b.host, "api.internal");
  EXPECT_EQ(b.port, 8443);
  EXPECT_EQ(b.base_path, "/base");
  EXPECT_EQ(b.tls.ca, "/etc/ca/backend.pem");
  EXPECT_FALSE(b.tls.verify);
  EXPECT_EQ(b.tls.server_name, "api.internal");
  std::string pin;
  for (int i = 0; i < 32; ++i)
    pin += "ab";
  EXPECT_EQ(b.tls.pinned_sha256, pin);
  EXPECT_EQ(b.tls.client_cert, "/etc/gh/gw.pem");
  EXPECT_EQ(b.tls.client_key, "/etc/gh/gw.key");
  EXPECT_EQ(b.max_idle_connections, 8u);
  EXPECT_EQ(b.where.line, 26);
  const Api& a = c->apis[0];
  EXPECT_EQ(a.path, "/orders");
  EXPECT_EQ(a.host, "api.example.com");
  EXPECT_EQ(a.backend_id, "origin");
  EXPECT_TRUE(a.strip_path);
  EXPECT_EQ(a.where.line, 37);
  ASSERT_EQ(a.operations.size(), 2u);
  EXPECT_EQ(a.operations[0].name, "get-order");
  EXPECT_EQ(a.operations[0].method, "GET");
  EXPECT_EQ(a.operations[0].url_template, "/{id}");
  EXPECT_EQ(a.operations[0].where.line, 43);
  EXPECT_EQ(a.operations[1].method, "*");
  EXPECT_EQ(c->access_log, "/etc/gh/logs/access.log");
  EXPECT_EQ(c->trusted_proxies, std::vector<std::string>{"10.0.0.0/8"});
}

TEST(ProxyConfigParser, RelativePathsFollowTheFileName) {
  auto c =
      parse_proxy_config(with("access_log: a.log\n"), "conf/gatehouse.yaml", fixed_environment({}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_log, "conf/a.log");
  auto d = parse_proxy_config(with("access_log: a.log\n"), "gatehouse.yaml", fixed_environment({}));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->access_log, "a.log");
  auto e = parse(with("access_log: stderr\n"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->access_log, "stderr");
}

TEST(ProxyConfigParser, UnknownKeySuggestsTheClosest) {
  const std::string e = error_of(R"(listeners:
  - address: 127.0.0.1:8080
    tsl: {}
apis:
  - name: all
    backend_url: http://127.0.0.1:9000
timeout:
  idle: 5s
)");
  EXPECT_CONTAINS(e, "gatehouse.yaml:3: unknown key 'tsl' in listeners[0] (did you mean 'tls'?)");
  EXPECT_CONTAINS(e,
                  "gatehouse.yaml:7: unknown key 'timeout' at the top level (did you mean "
                  "'timeouts'?)");
  EXPECT_CONTAINS(error_of(with("frobnicate: 1\n")),
                  "gatehouse.yaml:6: unknown key 'frobnicate' at the top level");
  EXPECT_EQ(error_of(with("frobnicate: 1\n")).find("did you mean"), std::string::npos);
}

TEST(ProxyConfigParser, UnknownKeysInEveryNestedMap) {
  EXPECT_CONTAINS(error_of(with("limits:\n  max_body: 1\n")),
                  "gatehouse.yaml:7: unknown key 'max_body' in limits");
  EXPECT_CONTAINS(error_of(with("timeouts:\n  iddle: 1\n")), "(did you mean 'idle'?)");
  EXPECT_CONTAINS(error_of(with("admin:\n  address: 127.0.0.1:1\n  tls: {}\n")),
                  "gatehouse.yaml:8: unknown key 'tls' in admin");
  EXPECT_CONTAINS(error_of(with("backends:\n  - id: b\n    url: http://h\n    tls:\n      "
                                "verfy: true\n")),
                  "gatehouse.yaml:10: unknown key 'verfy' in backends[0].tls (did you mean "
                  "'verify'?)");
}

TEST(ProxyConfigParser, DuplicateKeysFail) {
  EXPECT_CONTAINS(error_of(with("workers: 1\nworkers: 2\n")),
                  "gatehouse.yaml:7: duplicate key 'workers' at the top level");
}

TEST(ProxyConfigParser, MissingRequiredKeys) {
  EXPECT_CONTAINS(error_of("apis:\n  - name: a\n    backend_url: http://h\n"),
                  "gatehouse.yaml:1: missing required key 'listeners'");
  EXPECT_CONTAINS(error_of("listeners:\n  - address: 127.0.0.1:1\n"),
                  "missing required key 'apis'");
  EXPECT_CONTAINS(error_of("listeners:\n  - name: x\napis:\n  - name: a\n    backend_url: "
                           "http://h\n"),
                  "gatehouse.yaml:2: listeners[0]: missing required key 'address'");
  EXPECT_CONTAINS(error_of("listeners: []\napis: []\n"), "listeners: at least one listener");
  EXPECT_CONTAINS(error_of("listeners: []\napis: []\n"), "apis: at least one api");
  EXPECT_CONTAINS(error_of(with("backends:\n  - url: http://h\n")),
                  "gatehouse.yaml:7: backends[0]: missing required key 'id'");
  EXPECT_CONTAINS(error_of(with("backends:\n  - id: x\n")),
                  "backends[0]: missing required key 'url'");
}

TEST(ProxyConfigParser, EmptyOrNonMapFile) {
  EXPECT_CONTAINS(error_of(""),
                  "gatehouse.yaml:1: expected a map with at least 'listeners' and "
                  "'apis', found nothing (is the file empty?)");
  EXPECT_CONTAINS(error_of("- a\n- b\n"), "found a list");
  EXPECT_CONTAINS(error_of("a\n---\nb\n"), "expected one YAML document, found more");
}

TEST(ProxyConfigParser, WrongTypes) {
  EXPECT_CONTAINS(error_of("listeners: {}\napis: []\n"),
                  "gatehouse.yaml:1: listeners: expected a list, found a map");
  EXPECT_CONTAINS(error_of(with("workers: [1]\n")),
                  "gatehouse.yaml:6: workers: expected a single value, found a list");
  EXPECT_CONTAINS(error_of(with("workers: many\n")),
                  "gatehouse.yaml:6: workers 'many': expected an integer from 0 to 1024");
  EXPECT_CONTAINS(error_of(with("limits: 5\n")), "limits: expected a map, found a single value");
  EXPECT_CONTAINS(error_of(with("backends:\n  - id: b\n    url: http://h\n    tls:\n      "
                                "verify: yes\n")),
                  "gatehouse.yaml:10: backends[0].tls.verify 'yes': expected true or false");
  EXPECT_CONTAINS(error_of("listeners:\n  - 127.0.0.1:80\napis: []\n"),
                  "gatehouse.yaml:2: listeners[0]: expected a map, found a single value");
}

// yaml-cpp 0.7's LoadAll loops forever on a stray top-level ','; found by config_fuzz.
TEST(ProxyConfigParser, StrayTopLevelCommaTerminates) {
  EXPECT_FALSE(parse(","));
  EXPECT_FALSE(parse(",a: [ {b: \"c"));
}

TEST(ProxyConfigParser, SyntaxErrorsCarryLineAndColumn) {
  const std::string e = error_of("listeners:\n  - address: [1, 2\napis: []\n");
  EXPECT_EQ(e.rfind("gatehouse.yaml:", 0), 0u) << e;
  const std::string f = error_of("a: b\n  c: d\n");
  EXPECT_CONTAINS(f, "gatehouse.yaml:2:");
}

TEST(ProxyConfigParser, DuplicateNames) {
  EXPECT_CONTAINS(
      error_of(R"(listeners:
  - name: a
    address: 127.0.0.1:1
  - name: a
    address: 127.0.0.1:2
apis:
  - name: x
    backend_url: http://h
  - name: x
    path: /y
    backend_url: http://h
)"),
      "gatehouse.yaml:4: listeners[1].name: duplicate name (also used by listeners[0] on "
      "line 2)");
  EXPECT_CONTAINS(
      error_of("listeners:\n  - address: 127.0.0.1:1\napis:\n  - name: x\n    "
               "backend_url: http://h\n  - name: x\n    path: /y\n    backend_url: "
               "http://h\n"),
      "gatehouse.yaml:6: apis[1].name: duplicate name (also used by apis[0] on line 4)");
  EXPECT_CONTAINS(
      error_of(with("backends:\n  - id: b\n    url: http://h\n  - id: b\n    url: "
                    "http://h\n")),
      "gatehouse.yaml:9: backends[1].id: duplicate id (also used by backends[0] on line "
      "7)");
}

TEST(ProxyConfigParser, InvalidNames) {
  EXPECT_CONTAINS(error_of("listeners:\n  - address: 127.0.0.1:1\napis:\n  - name: a b\n    "
                           "backend_url: http://h\n"),
                  "gatehouse.yaml:4: apis[0].name 'a b': names may only contain");
}

TEST(ProxyConfigParser, DuplicateAddresses) {
  EXPECT_CONTAINS(error_of(with("admin:\n  address: 127.0.0.1:8080\n")),
                  "gatehouse.yaml:7: admin.address: the same address as listeners[0] on "
                  "line 2");
  EXPECT_CONTAINS(error_of("listeners:\n  - address: 127.0.0.1:1\n  - address: 127.0.0.1:1\n"
                           "apis:\n  - name: a\n    backend_url: http://h\n"),
                  "gatehouse.yaml:3: listeners[1].address: the same address");
}

TEST(ProxyConfigParser, BadAddresses) {
  EXPECT_CONTAINS(error_of("listeners:\n  - address: 127.0.0.1:0\napis: []\n"),
                  "gatehouse.yaml:2: listeners[0].address '127.0.0.1:0': port must be a number "
                  "from 1 to 65535");
  EXPECT_CONTAINS(error_of("listeners:\n  - address: ::1:80\napis: []\n"), "brackets");
  EXPECT_CONTAINS(error_of("listeners:\n  - address: localhost\napis: []\n"), "port is missing");
  EXPECT_CONTAINS(error_of(with("admin:\n  address: 1.2.3.4\n")),
                  "gatehouse.yaml:7: admin.address");
}

TEST(ProxyConfigParser, BadUrls) {
  EXPECT_CONTAINS(error_of(with("backends:\n  - id: b\n    url: ftp://h\n")),
                  "gatehouse.yaml:8: backends[0].url 'ftp://h': scheme must be http or https");
  EXPECT_CONTAINS(error_of("listeners:\n  - address: 127.0.0.1:1\napis:\n  - name: a\n    "
                           "backend_url: http://\n"),
                  "gatehouse.yaml:5: apis[0].backend_url 'http://': missing host");
  EXPECT_CONTAINS(error_of(with("backends:\n  - id: b\n    url: http://h\n    tls:\n      ca: "
                                "x.pem\n")),
                  "gatehouse.yaml:9: backends[0].tls: TLS settings need an https url");
}

TEST(ProxyConfigParser, DurationsAndSizes) {
  EXPECT_CONTAINS(error_of(with("timeouts:\n  idle: 10 minutes\n")),
                  "gatehouse.yaml:7: timeouts.idle '10 minutes': expected a duration");
  EXPECT_CONTAINS(error_of(with("timeouts:\n  header_read: 0\n")),
                  "timeouts.header_read '0': must be greater than zero");
  EXPECT_CONTAINS(error_of(with("timeouts:\n  backend_response: 25h\n")), "at most 24h");
  EXPECT_CONTAINS(error_of(with("limits:\n  max_header_bytes: 16kb\n")),
                  "gatehouse.yaml:7: limits.max_header_bytes '16kb': expected a byte count");
  EXPECT_CONTAINS(error_of(with("limits:\n  max_header_bytes: 8GiB\n")),
                  "must be from 1 to 4294967295 bytes");
  EXPECT_CONTAINS(error_of(with("limits:\n  max_header_count: 1KiB\n")), "expected an integer");
  EXPECT_CONTAINS(error_of(with("limits:\n  max_uri_length: 0\n")), "must be from 1");
  auto c = parse(with("limits:\n  max_body_bytes: 1GiB\n  max_uri_length: 16KiB\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->limits.max_body_bytes, 1073741824u);
  EXPECT_EQ(c->limits.max_uri_length, 16384u);
}

TEST(ProxyConfigParser, Enums) {
  const std::string tls = R"(listeners:
  - address: 127.0.0.1:1
    tls:
      certificates: [{cert: c.pem, key: k.pem}]
      client_certificate: %s
      client_ca: ca.pem
      min_version: %s
apis:
  - name: a
    backend_url: http://h
)";
  const auto make = [&](std::string mode, std::string version) {
    std::string s = tls;
    s.replace(s.find("%s"), 2, mode);
    s.replace(s.find("%s"), 2, version);
    return s;
  };
  EXPECT_TRUE(parse(make("require", "1.2")));
  EXPECT_TRUE(parse(make("optional", "\"1.3\"")));
  EXPECT_CONTAINS(error_of(make("required", "1.2")),
                  "gatehouse.yaml:5: listeners[0].tls.client_certificate 'required': expected "
                  "none, optional or require");
  EXPECT_CONTAINS(error_of(make("require", "1.1")),
                  "gatehouse.yaml:7: listeners[0].tls.min_version '1.1': expected \"1.2\" or "
                  "\"1.3\"");
}

TEST(ProxyConfigParser, ListenerTlsConsistency) {
  EXPECT_CONTAINS(error_of("listeners:\n  - address: 127.0.0.1:1\n    tls:\n      "
                           "client_certificate: require\n      certificates: [{cert: c, key: k}]\n"
                           "apis:\n  - name: a\n    backend_url: http://h\n"),
                  "gatehouse.yaml:4: listeners[0].tls: client_ca is required when "
                  "client_certificate is optional or require");
  EXPECT_CONTAINS(error_of("listeners:\n  - address: 127.0.0.1:1\n    tls:\n      client_ca: "
                           "ca.pem\n      certificates: [{cert: c, key: k}]\napis:\n  - name: a\n"
                           "    backend_url: http://h\n"),
                  "gatehouse.yaml:4: listeners[0].tls.client_ca: has no effect");
  EXPECT_CONTAINS(error_of("listeners:\n  - address: 127.0.0.1:1\n    tls:\n      "
                           "certificates: []\napis:\n  - name: a\n    backend_url: http://h\n"),
                  "listeners[0].tls.certificates: at least one certificate is required");
  EXPECT_CONTAINS(error_of("listeners:\n  - address: 127.0.0.1:1\n    tls:\n      "
                           "min_version: \"1.3\"\napis:\n  - name: a\n    backend_url: http://h\n"),
                  "gatehouse.yaml:4: listeners[0].tls: missing required key 'certificates'");
  EXPECT_CONTAINS(error_of("listeners:\n  - address: 127.0.0.1:1\n    tls:\n      "
                           "certificates:\n        - cert: c.pem\napis:\n  - name: a\n    "
                           "backend_url: http://h\n"),
                  "gatehouse.yaml:5: listeners[0].tls.certificates[0]: missing required key "
                  "'key'");
}

TEST(ProxyConfigParser, BackendTlsConsistency) {
  const std::string base = with("backends:\n  - id: b\n    url: https://h\n    tls:\n");
  EXPECT_CONTAINS(error_of(base + "      client_cert: c.pem\n"),
                  "gatehouse.yaml:10: backends[0].tls: client_cert and client_key must be given "
                  "together");
  EXPECT_CONTAINS(error_of(base + "      client_key: k.pem\n"), "must be given together");
  EXPECT_CONTAINS(error_of(base + "      pinned_sha256: abc\n"),
                  "gatehouse.yaml:10: backends[0].tls.pinned_sha256: pinned_sha256 must be 64 hex");
  EXPECT_CONTAINS(error_of(base + "      server_name: h:443\n"), "without a port");
  auto ok = parse(base + "      verify: true\n");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE(ok->backends[0].tls.verify);
  EXPECT_EQ(ok->backends[0].tls.pinned_sha256, "");
}

TEST(ProxyConfigParser, ApiBackendReference) {
  const std::string head =
      "listeners:\n  - address: 127.0.0.1:1\nbackends:\n  - id: origin\n"
      "    url: http://h\napis:\n  - name: a\n";
  auto ok = parse(head + "    backend: origin\n");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->apis[0].backend_id, "origin");
  EXPECT_EQ(ok->backends.size(), 1u);
  EXPECT_CONTAINS(error_of(head + "    backend: orign\n"),
                  "gatehouse.yaml:8: apis[0].backend 'orign': no backend with this id in backends "
                  "(did you mean 'origin'?)");
  EXPECT_CONTAINS(error_of(head + "    backend: origin\n    backend_url: http://h\n"),
                  "gatehouse.yaml:9: apis[0]: give either 'backend' or 'backend_url', not both");
  EXPECT_CONTAINS(error_of(head + "    path: /x\n"),
                  "gatehouse.yaml:7: apis[0]: missing 'backend' (an id from backends) or "
                  "'backend_url'");
  // A synthetic id cannot be referenced by name from another api: ids never contain ':'.
  EXPECT_CONTAINS(error_of(head + "    backend_url: http://h\n  - name: b\n    path: /b\n"
                                  "    backend: api:a\n"),
                  "no backend with this id");
}

TEST(ProxyConfigParser, SyntheticBackendsFollowDeclaredOnes) {
  auto c = parse(
      "listeners:\n  - address: 127.0.0.1:1\nbackends:\n  - id: z\n    url: "
      "https://z/base\napis:\n  - name: a\n    backend_url: https://a:8443/p/\n"
      "  - name: b\n    path: /b\n    backend: z\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->backends.size(), 2u);
  EXPECT_EQ(c->backends[0].id, "z");
  EXPECT_EQ(c->backends[1].id, "api:a");
  EXPECT_EQ(c->backends[1].scheme, "https");
  EXPECT_EQ(c->backends[1].port, 8443);
  EXPECT_EQ(c->backends[1].base_path, "/p");
  EXPECT_EQ(c->backends[1].where.line, 7);
}

TEST(ProxyConfigParser, ApiPathsAndRoutes) {
  const std::string head = "listeners:\n  - address: 127.0.0.1:1\napis:\n";
  EXPECT_CONTAINS(error_of(head + "  - name: a\n    path: orders\n    backend_url: http://h\n"),
                  "gatehouse.yaml:5: apis[0].path 'orders': path must start with '/'");
  EXPECT_CONTAINS(error_of(head + "  - name: a\n    path: /x/\n    backend_url: http://h\n"
                                  "  - name: b\n    path: /x\n    backend_url: http://h\n"),
                  "gatehouse.yaml:7: apis[1]: the same host and path as apis[0] on line 4");
  auto c = parse(head +
                 "  - name: a\n    path: /x\n    backend_url: http://h\n  - name: b\n"
                 "    path: /x\n    host: b.example\n    backend_url: http://h\n");
  ASSERT_TRUE(c) << c.error().message;
  auto v6 = parse(head +
                  "  - name: a\n    host: \"::1\"\n    backend_url: http://h\n  - name: b\n"
                  "    host: \"[FE80::1]\"\n    backend_url: http://h\n");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->apis[0].host, "[::1]");
  EXPECT_EQ(v6->apis[1].host, "[fe80::1]");
  EXPECT_CONTAINS(error_of(head + "  - name: a\n    host: a:80\n    backend_url: http://h\n"),
                  "apis[0].host 'a:80': expected a host name without a port");
}

TEST(ProxyConfigParser, Operations) {
  const std::string head =
      "listeners:\n  - address: 127.0.0.1:1\napis:\n  - name: a\n    backend_url: http://h\n"
      "    operations:\n";
  EXPECT_CONTAINS(error_of(head + "      - name: o\n        method: GET\n        url_template: "
                                  "orders\n"),
                  "gatehouse.yaml:9: apis[0].operations[0].url_template 'orders': url_template "
                  "must start with '/'");
  EXPECT_CONTAINS(error_of(head + "      - name: o\n        method: GET\n        url_template: "
                                  "/{id\n"),
                  "a {parameter} must be a whole path segment");
  EXPECT_CONTAINS(error_of(head + "      - name: o\n        method: G T\n        url_template: "
                                  "/\n"),
                  "gatehouse.yaml:8: apis[0].operations[0].method 'G T': method must be an HTTP "
                  "token");
  EXPECT_CONTAINS(
      error_of(head + "      - name: o\n        method: GET\n        url_template: /\n"
                      "      - name: o\n        method: PUT\n        url_template: /\n"),
      "gatehouse.yaml:10: apis[0].operations[1]: duplicate operation name (also used by "
      "apis[0].operations[0])");
  EXPECT_CONTAINS(
      error_of(head + "      - name: o\n        method: GET\n        url_template: /\n"
                      "      - name: p\n        method: get\n        url_template: /\n"),
      "apis[0].operations[1]: same method and url_template as apis[0].operations[0]");
  EXPECT_CONTAINS(error_of(head + "      - name: o\n        url_template: /\n"),
                  "gatehouse.yaml:7: apis[0].operations[0]: missing required key 'method'");
  EXPECT_CONTAINS(error_of("listeners:\n  - address: 127.0.0.1:1\napis:\n  - name: a\n    "
                           "backend_url: http://h\n    operations: []\n"),
                  "apis[0].operations: must not be empty");
}

TEST(ProxyConfigParser, ReportsIndependentErrorsTogether) {
  const std::string e = error_of(R"(workers: -1
listeners:
  - address: 127.0.0.1:99999
apis:
  - name: a
    backend_url: ftp://h
timeouts:
  idle: forever
)");
  EXPECT_CONTAINS(e, "gatehouse.yaml:1: workers");
  EXPECT_CONTAINS(e, "gatehouse.yaml:3: listeners[0].address");
  EXPECT_CONTAINS(e, "gatehouse.yaml:6: apis[0].backend_url");
  EXPECT_CONTAINS(e, "gatehouse.yaml:8: timeouts.idle");
  // One per line, in file order, even across the schema's own order.
  EXPECT_LT(e.find("gatehouse.yaml:1:"), e.find("gatehouse.yaml:3:"));
  const std::string f = error_of("listeners:\n  - address: 127.0.0.1:0\n    tsl: {}\napis: []\n");
  EXPECT_LT(f.find("gatehouse.yaml:2:"), f.find("gatehouse.yaml:3:")) << f;
}

TEST(ProxyConfigParser, ErrorCountIsCapped) {
  std::string text = "listeners:\n";
  for (int i = 0; i < 200; ++i)
    text += "  - address: bad\n";
  const std::string e = error_of(text);
  EXPECT_CONTAINS(e, "too many errors");
  EXPECT_LT(std::count(e.begin(), e.end(), '\n'), 60);
}

TEST(ProxyConfigParser, EnvironmentSubstitutionKeepsLinesAndHidesValues) {
  const std::string text = R"(listeners:
  - address: ${LISTEN}
apis:
  - name: a
    backend_url: ${ORIGIN}
)";
  auto ok = parse(text, {{"LISTEN", "127.0.0.1:7000"}, {"ORIGIN", "https://o:1/b"}});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->listeners[0].port, 7000);
  EXPECT_EQ(ok->backends[0].host, "o");
  // A bad substituted value: the error names the key and the original line but not the value.
  const std::string e = error_of(text, {{"LISTEN", "secret-host:0"}, {"ORIGIN", "ftp://s3cr3t"}});
  EXPECT_CONTAINS(e, "gatehouse.yaml:2: listeners[0].address: port must be");
  EXPECT_CONTAINS(e, "gatehouse.yaml:5: apis[0].backend_url: scheme must be");
  EXPECT_EQ(e.find("secret-host"), std::string::npos) << e;
  EXPECT_EQ(e.find("s3cr3t"), std::string::npos) << e;
  // Unset without default.
  EXPECT_CONTAINS(error_of(text, {{"LISTEN", "127.0.0.1:1"}}),
                  "gatehouse.yaml:5: environment variable 'ORIGIN' is not set");
}

TEST(ProxyConfigParser, SubstitutedIdsAreNeverSuggested) {
  const std::string e = error_of(
      "listeners:\n  - address: 127.0.0.1:1\nbackends:\n  - id: ${BID}\n    url: http://h\n"
      "apis:\n  - name: a\n    backend: privat\n",
      {{"BID", "private"}});
  EXPECT_CONTAINS(e, "gatehouse.yaml:8: apis[0].backend 'privat': no backend with this id");
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;
}

TEST(ProxyConfigParser, MultiLineSubstitutionDoesNotShiftLaterLines) {
  const std::string text =
      "trusted_proxies: ${LIST}\nlisteners:\n  - address: 1.2.3.4\napis: "
      "[]\n";
  const std::string e = error_of(text, {{"LIST", "\n  - a\n  - b"}});
  EXPECT_CONTAINS(e, "gatehouse.yaml:3: listeners[0].address '1.2.3.4': expected host:port");
}

TEST(ProxyConfigParser, SyntaxErrorOnSubstitutedLineHidesColumn) {
  const std::string e = error_of("listeners: ${X}\napis: []\n", {{"X", "[a, b"}});
  EXPECT_EQ(e.find("[a, b"), std::string::npos);
  EXPECT_EQ(e.rfind("gatehouse.yaml:", 0), 0u) << e;
}

TEST(ProxyConfigParser, CrlfLineEndings) {
  std::string text =
      "listeners:\r\n  - address: 127.0.0.1:1\r\napis:\r\n  - name: a\r\n"
      "    backend_url: http://h\r\n    strip_path: maybe\r\n";
  EXPECT_CONTAINS(error_of(text),
                  "gatehouse.yaml:6: apis[0].strip_path 'maybe': expected true or "
                  "false");
}

TEST(ProxyConfigParser, AliasesWorkMergeKeysDoNot) {
  auto c = parse(
      "listeners:\n  - &l {name: a, address: \"127.0.0.1:1\"}\napis:\n  - name: x\n"
      "    backend_url: http://h\n    operations:\n      - &op {name: o, method: GET, "
      "url_template: /}\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->listeners[0].name, "a");
  EXPECT_CONTAINS(error_of("base: &b {address: \"127.0.0.1:1\"}\nlisteners:\n  - <<: *b\n"
                           "apis: []\n"),
                  "gatehouse.yaml:3: unknown key '<<' in listeners[0]");
}

TEST(ProxyConfigParser, ExplicitNullMeansAbsent) {
  auto c = parse(with("admin:\ntrusted_proxies:\nlimits: ~\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->admin);
}

TEST(ProxyConfigParser, OpenIdCacheIntervals) {
  auto d = parse(kMinimal);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->policies.openid_refresh_interval, std::chrono::seconds(3600));  // APIM's
  EXPECT_EQ(d->policies.openid_min_refetch_interval, std::chrono::seconds(300));
  EXPECT_EQ(d->policies.openid_max_staleness, std::chrono::seconds(86400));

  auto c =
      parse(with("policies:\n  openid:\n    refresh_interval: 30m\n"
                 "    min_refetch_interval: 2s\n    max_staleness: 7d\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->policies.openid_refresh_interval, std::chrono::seconds(1800));
  EXPECT_EQ(c->policies.openid_min_refetch_interval, std::chrono::seconds(2));
  EXPECT_EQ(c->policies.openid_max_staleness, std::chrono::seconds(7 * 86400));

  EXPECT_CONTAINS(error_of(with("policies:\n  openid:\n    min_refetch_interval: 500ms\n")),
                  "policies.openid.min_refetch_interval");
  EXPECT_CONTAINS(error_of(with("policies:\n  openid:\n    min_refetch_interval: 2h\n")),
                  "policies.openid.min_refetch_interval");
  EXPECT_CONTAINS(error_of(with("policies:\n  openid:\n    refresh: 1h\n")),
                  "unknown key 'refresh' in policies.openid");
}

TEST(ProxyConfigParser, SubscriptionKeyFiles) {
  auto c =
      parse(with("subscriptions:\n"
                 "  - {id: a, scope: /, primary_key_file: keys/a.key,\n"
                 "     secondary_key_file: \"vault:secrets/a-key\"}\n"
                 "  - {id: b, scope: /, primary_key: literal, secondary_key_file: /k/b}\n"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->subscriptions.size(), 2u);
  EXPECT_EQ(c->subscriptions[0].primary_key_file, "/etc/gh/keys/a.key");     // relative: the file's
  EXPECT_EQ(c->subscriptions[0].secondary_key_file, "vault:secrets/a-key");  // kept as written
  EXPECT_TRUE(c->subscriptions[0].primary_key.empty());
  EXPECT_EQ(c->subscriptions[1].primary_key, "literal");
  EXPECT_EQ(c->subscriptions[1].secondary_key_file, "/k/b");

  EXPECT_CONTAINS(
      error_of(
          with("subscriptions:\n  - {id: a, scope: /, primary_key: k, primary_key_file: f}\n")),
      "give either 'primary_key' or 'primary_key_file', not both");
  EXPECT_CONTAINS(error_of(with("subscriptions:\n  - {id: a, scope: /, primary_key_file: \"\"}\n")),
                  "subscriptions[0].primary_key_file");
  EXPECT_CONTAINS(error_of(with("subscriptions:\n  - {id: a, scope: /}\n")),
                  "missing 'primary_key' or 'secondary_key'");
}

}  // namespace
}  // namespace gh::config

namespace gh::config {
namespace {

TEST(ProxyConfigParserSubscriptions, StartDateAnchorsTheSubscription) {
  auto text = std::string(kMinimal) + R"(subscriptions:
  - id: dated
    scope: /apis
    primary_key: k1
    start_date: 2024-01-01T00:00:00Z
  - id: day-only
    scope: /apis
    primary_key: k2
    start_date: 2024-03-01
  - id: undated
    scope: /apis
    primary_key: k3
)";
  auto r = parse(text);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->subscriptions.size(), 3u);
  EXPECT_EQ(r->subscriptions[0].start_unix, 1'704'067'200);
  EXPECT_EQ(r->subscriptions[1].start_unix, 1'709'251'200);
  EXPECT_EQ(r->subscriptions[2].start_unix, 0);
  auto bad = error_of(std::string(kMinimal) + R"(subscriptions:
  - id: dated
    scope: /apis
    primary_key: k1
    start_date: 2024-02-30T00:00:00Z
)");
  EXPECT_NE(bad.find("start_date"), std::string::npos) << bad;
}

}  // namespace
}  // namespace gh::config
