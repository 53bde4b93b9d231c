#include "cli/admin_client.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/strings.h"
#include "http/url_fetch.h"

namespace gh::cli {
namespace {

namespace json = boost::json;

constexpr std::string_view kDefaultAdminUrl = "http://127.0.0.1:9901";
constexpr size_t kMaxResponseBytes = 8 * 1024 * 1024;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// Flags first, then the environment: --admin-token, --admin-token-file, GATEHOUSE_ADMIN_TOKEN,
// GATEHOUSE_ADMIN_TOKEN_FILE.
Result<std::string> admin_token(const AdminOptions& o) {
  if (!o.token.empty()) return o.token;
  std::string file = o.token_file;
  if (file.empty()) {
    if (std::string env = env_or_empty("GATEHOUSE_ADMIN_TOKEN"); !env.empty()) return env;
    file = env_or_empty("GATEHOUSE_ADMIN_TOKEN_FILE");
  }
  if (file.empty()) {
    return unexpected(ErrorKind::Unauthenticated,
                      "no admin token: set GATEHOUSE_ADMIN_TOKEN, or pass --admin-token-file "
                      "(the server's identity.admin_token_file, default <data_dir>/admin.token)");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return unexpected(ErrorKind::Io, file + ": cannot read the admin token file");
  std::ostringstream text;
  text << in.rdbuf();
  std::string token(core::trim_ows(text.str()));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r'))
    token.pop_back();
  if (token.empty()) return unexpected(ErrorKind::InvalidArgument, file + ": the file is empty");
  return token;
}

// The server's explanation of an error status: {"message": ...} (the admin API and APIM
// bodies both have it), else the raw body.
std::string server_message(const http::FetchedDocument& doc) {
  json::error_code ec;
  const json::value v = json::parse(doc.body, ec);
  if (!ec && v.is_object()) {
    if (const auto* m = v.get_object().if_contains("message"); m && m->is_string()) {
      return std::string(m->get_string());
    }
  }
  std::string body(core::trim_ows(doc.body));
  return body.empty() ? "no explanation in the response" : body.substr(0, 500);
}

}  // namespace

void add_admin_options(CLI::App& cmd, AdminOptions& o, bool with_tenant) {
  cmd.add_option("--admin-url", o.url,
                 "admin API base URL (env GATEHOUSE_ADMIN_URL; default http://127.0.0.1:9901)")
      ->envname("GATEHOUSE_ADMIN_URL");
  cmd.add_option("--admin-token", o.token,
                 "admin token (prefer env GATEHOUSE_ADMIN_TOKEN: arguments show up in ps)");
  cmd.add_option("--admin-token-file", o.token_file,
                 "file holding the admin token (env GATEHOUSE_ADMIN_TOKEN_FILE)");
  if (with_tenant) {
    cmd.add_option("--tenant", o.tenant,
                   "tenant id or alias (env GATEHOUSE_TENANT_ID; default: the only tenant)")
        ->envname("GATEHOUSE_TENANT_ID");
  }
  cmd.add_flag("--json", o.json, "print JSON (the API's own form) instead of a table");
}

Result<AdminReply> admin_call(const AdminOptions& o, std::string_view method, std::string_view path,
                              std::string body, std::string_view content_type) {
  GH_TRY(std::string token, admin_token(o));
  std::string base = o.url.empty() ? std::string(kDefaultAdminUrl) : o.url;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  http::FetchRequest request;
  request.method = std::string(method);
  request.url = base + std::string(path);
  request.headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.empty()) request.headers.emplace_back("Content-Type", std::string(content_type));
  request.body = std::move(body);
  http::FetchOptions options;
  options.max_body = kMaxResponseBytes;
  auto doc = http::send_request_blocking(request, options);
  if (!doc) {
    return unexpected(doc.error().kind,
                      doc.error().message + " (is the admin listener running? see --admin-url)");
  }
  if (doc->status < 200 || doc->status > 299) {
    ErrorKind kind = ErrorKind::Internal;
    if (doc->status == 400) kind = ErrorKind::InvalidArgument;
    if (doc->status == 401) kind = ErrorKind::Unauthenticated;
    if (doc->status == 403) kind = ErrorKind::PermissionDenied;
    if (doc->status == 404) kind = ErrorKind::NotFound;
    if (doc->status == 409) kind = ErrorKind::Conflict;
    return unexpected(kind, fmt::format("{} (HTTP {})", server_message(*doc), doc->status));
  }
  AdminReply reply;
  reply.status = doc->status;
  if (!doc->body.empty()) {
    json::error_code ec;
    reply.body = json::parse(doc->body, ec);
    if (ec) {
      return unexpected(ErrorKind::Internal, "the admin API answered with invalid JSON");
    }
  }
  return reply;
}

Result<std::string> resolve_tenant(const AdminOptions& o) {
  if (!o.tenant.empty()) return o.tenant;
  GH_TRY(AdminReply reply, admin_call(o, "GET", "/v1/tenants"));
  const json::array tenants = json_array(reply.body, "tenants");
  if (tenants.size() == 1) return json_string(tenants[0], "id");
  if (tenants.empty()) {
    return unexpected(ErrorKind::NotFound,
                      "there is no tenant yet: create one with `gatehouse tenant create`");
  }
  return unexpected(ErrorKind::InvalidArgument,
                    "there are several tenants: pass --tenant or set GATEHOUSE_TENANT_ID");
}

std::string path_segment(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

int report_error(std::string_view command, const Error& error) {
  fmt::print(stderr, "gatehouse {}: {}\n", command, error.message);
  return 1;
}

void print_json(const json::value& value) {
  fmt::print("{}\n", json::serialize(value));
}

std::string Table::render() const {
  std::vector<size_t> widths(headers_.size(), 0);
  const auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  };
  measure(headers_);
  for (const auto& r : rows_)
    measure(r);
  std::string out;
  const auto line = [&](const std::vector<std::string>& row) {
    std::string text;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : std::string();
      text += cell;
      if (i + 1 < widths.size()) text += std::string(widths[i] - cell.size() + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ')
      text.pop_back();
    out += text + "\n";
  };
  line(headers_);
  for (const auto& r : rows_)
    line(r);
  return out;
}

std::string json_string(const json::value& object, std::string_view key) {
  if (!object.is_object()) return {};
  const auto* v = object.get_object().if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t json_int(const json::value& object, std::string_view key) {
  if (!object.is_object()) return 0;
  const auto* v = object.get_object().if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

bool json_bool(const json::value& object, std::string_view key) {
  if (!object.is_object()) return false;
  const auto* v = object.get_object().if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

json::array json_array(const json::value& object, std::string_view key) {
  if (!object.is_object()) return {};
  const auto* v = object.get_object().if_contains(key);
  return v && v->is_array() ? v->get_array() : json::array{};
}

}  // namespace gh::cli
