#include "admin/admin_server.h"

#include <boost/beast/http.hpp>
#include <optional>
#include <string>

#include "admin/admin_auth.h"
#include "admin/identity_api.h"
#include "admin/subscription_api.h"
#include "admin/vault_api.h"
#include "config/environment.h"
#include "core/event_log.h"
#include "http/error_response.h"
#include "identity/identity_service.h"
#include "net/tcp_stream.h"
#include "policy/services.h"
#include "vault/vault_service.h"

namespace gh::admin {
namespace {

namespace asio = net::asio;
namespace beast = net::beast;
namespace bhttp = boost::beast::http;
using net::awaitable;
using net::use_tuple;

constexpr std::chrono::seconds kAdminTimeout{10};
constexpr size_t kAdminHeaderLimit = 8192;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// The identity API with the service that owns its directory and key ring, or why it is off;
// and the vault's API, which authenticates through the identity one.
struct IdentityAdmin {
  std::shared_ptr<identity::IdentityService> service;  // keeps directory and key ring alive
  std::optional<IdentityApi> api;
  std::string unavailable;                     // set when the admin credential could not be loaded
  std::shared_ptr<vault::VaultService> vault;  // keeps the store and audit log alive
  std::optional<VaultApi> vault_api;           // empty: no vault role
  // Subscriptions managed at run time, in the identity role's database (empty: no feed).
  std::unique_ptr<store::SubscriptionStore> subscription_store;
  std::optional<SubscriptionApi> subscription_api;
};

Response json_error(const Request& req, bhttp::status status, std::string_view message) {
  Response res{status, req.version()};
  res.keep_alive(req.keep_alive());
  res.set(bhttp::field::content_type, "application/json");
  res.body() = http::apim_error_body(static_cast<int>(status), message);
  res.prepare_payload();
  return res;
}

Response answer_identity(const Request& req, std::string_view path, std::string_view source_ip,
                         IdentityAdmin& admin) {
  if (!admin.api) {
    return json_error(req, bhttp::status::service_unavailable,
                      "the admin API is unavailable: " + admin.unavailable);
  }
  AdminRequest in;
  in.method = req.method_string();
  in.target = req.target();
  in.authorization = req[bhttp::field::authorization];
  in.body = req.body();
  in.source_ip = source_ip;
  AdminResponse out;
  if (VaultApi::serves(path)) {
    // Authentication first, as for every /v1 path: the API's shape is not revealed.
    std::string caller;
    if (auto refused = admin.api->authenticate(in.authorization, caller)) {
      out = std::move(*refused);
      if (admin.vault_api) admin.vault_api->audit_refusal(in, out.status);
    } else if (!admin.vault_api) {
      out = VaultApi::not_enabled();
      out.caller = std::move(caller);
    } else {
      out = admin.vault_api->handle(in, caller);
    }
  } else if (SubscriptionApi::serves(path)) {
    std::string caller;
    if (auto refused = admin.api->authenticate(in.authorization, caller)) {
      out = std::move(*refused);
    } else if (!admin.subscription_api) {
      out = error_response(404, "subscriptions_not_enabled",
                           "subscriptions cannot be managed on this server");
    } else {
      out = admin.subscription_api->handle(in);
    }
    out.caller = std::move(caller);
  } else {
    out = admin.api->handle(in);
  }
  Response res{static_cast<bhttp::status>(out.status), req.version()};
  res.keep_alive(req.keep_alive());
  if (!out.content_type.empty()) res.set(bhttp::field::content_type, out.content_type);
  res.set(bhttp::field::cache_control, "no-store");
  for (const auto& [name, value] : out.headers)
    res.set(name, value);
  res.body() = std::move(out.body);
  res.prepare_payload();
  // Changes and refused credentials are operational events; reads are not logged.
  const bool change = in.method != "GET" && in.method != "HEAD" && out.status < 400;
  if (change || out.status == 401 || out.status == 403) {
    const std::string status = std::to_string(out.status);
    core::log_event(
        change ? "info" : "warn", change ? "admin change" : "admin refused",
        {{"method", in.method}, {"path", path}, {"status", status}, {"caller", out.caller}});
  }
  return res;
}

Response answer(const Request& req, std::string_view source_ip, const gateway::Server& server,
                IdentityAdmin* identity) {
  std::string_view target = req.target();
  target = target.substr(0, target.find('?'));
  if (identity && IdentityApi::serves(target)) {
    return answer_identity(req, target, source_ip, *identity);
  }
  Response res{bhttp::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
    res.result(bhttp::status::method_not_allowed);
    res.set(bhttp::field::allow, "GET, HEAD");
    res.set(bhttp::field::content_type, "application/json");
    res.body() = http::apim_error_body(405, "Method not allowed");
  } else if (target == "/healthz") {
    res.set(bhttp::field::content_type, "application/json");
    if (server.healthy()) {
      res.body() = R"({"status":"ok"})";
    } else {
      res.result(bhttp::status::service_unavailable);
      res.body() = R"({"status":"draining"})";
    }
  } else if (target == "/metrics") {
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = server.metrics_text();
  } else {
    res.result(bhttp::status::not_found);
    res.set(bhttp::field::content_type, "application/json");
    res.body() = http::apim_error_body(404, http::default_message(http::ProxyError::NotFound));
  }
  res.prepare_payload();
  if (req.method() == bhttp::verb::head) res.body().clear();
  return res;
}

awaitable<void> admin_session(net::Socket socket, const gateway::Server* server,
                              std::shared_ptr<IdentityAdmin> identity) {
  net::error_code peer_ec;
  const auto peer = socket.remote_endpoint(peer_ec);
  const std::string source_ip = peer_ec ? std::string() : peer.address().to_string();
  net::PlainStream stream(std::move(socket));
  beast::flat_buffer buf;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kAdminHeaderLimit);
    parser.body_limit(kMaxAdminBodyBytes);
    stream.expires_after(kAdminTimeout);
    auto [ec, n] = co_await bhttp::async_read(stream, buf, parser, use_tuple);
    if (ec == bhttp::error::body_limit) {
      // The head was read: say why instead of dropping the connection.
      Response res = json_error(parser.get(), bhttp::status::payload_too_large,
                                "the request body is larger than 64 KiB");
      res.keep_alive(false);
      co_await bhttp::async_write(stream, res, use_tuple);
      break;
    }
    if (ec) break;
    auto res = answer(parser.get(), source_ip, *server, identity.get());
    bool keep = res.keep_alive();
    auto [wec, m] = co_await bhttp::async_write(stream, res, use_tuple);
    if (wec || !keep) break;
  }
  net::error_code ignored;
  stream.socket().shutdown(net::Socket::shutdown_send, ignored);
}

awaitable<void> admin_accept_loop(net::Acceptor* acceptor, const gateway::Server* server,
                                  std::shared_ptr<IdentityAdmin> identity) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      continue;
    }
    asio::co_spawn(acceptor->get_executor(), admin_session(std::move(socket), server, identity),
                   asio::detached);
  }
}

std::shared_ptr<IdentityAdmin> make_identity_admin(
    std::shared_ptr<identity::IdentityService> service, std::shared_ptr<vault::VaultService> vault,
    const gateway::Server& server) {
  auto admin = std::make_shared<IdentityAdmin>();
  admin->service = std::move(service);
  if (auto services = server.policy_services(); services && services->subscriptions) {
    auto store = store::SubscriptionStore::open(admin->service->database());
    if (store) {
      admin->subscription_store = std::move(*store);
      admin->subscription_api.emplace(*admin->subscription_store, *services->subscriptions,
                                      core::SystemClock::instance());
    } else {
      core::log_event("error", "subscription admin API disabled",
                      {{"reason", store.error().message}});
    }
  }
  if (vault) {
    admin->vault = std::move(vault);
    admin->vault_api.emplace(admin->vault->store(), admin->vault->audit(),
                             core::SystemClock::instance());
  }
  const std::string& file = admin->service->config().admin_token_file;
  auto credential =
      AdminCredential::load_or_create(file, config::process_environment()("GATEHOUSE_ADMIN_TOKEN"));
  if (!credential) {
    admin->unavailable = credential.error().message;
    core::log_event("error", "admin API disabled: no admin credential",
                    {{"reason", credential.error().message}});
    return admin;
  }
  admin->api.emplace(admin->service->directory(), admin->service->key_ring(),
                     std::move(*credential), core::SystemClock::instance());
  core::log_event("info", "admin API enabled", {{"admin_token_file", file}});
  return admin;
}

}  // namespace

void start_admin_server(net::asio::io_context& io, net::Acceptor& acceptor,
                        const gateway::Server& server,
                        std::shared_ptr<identity::IdentityService> identity,
                        std::shared_ptr<vault::VaultService> vault) {
  std::shared_ptr<IdentityAdmin> admin;
  // The vault lives in the identity role's database and needs it: no identity, no vault.
  if (identity) admin = make_identity_admin(std::move(identity), std::move(vault), server);
  asio::co_spawn(io, admin_accept_loop(&acceptor, &server, std::move(admin)), asio::detached);
}

}  // namespace gh::admin
