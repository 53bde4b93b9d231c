#pragma once

// What the `app`, `tenant`, `keys` and `creds` commands share: the options that say where the
// admin REST API is and how to authenticate to it, one call to it, and plain-text tables.
// docs/cli.md describes the commands; docs/admin-api.md the API they call.

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace CLI {
class App;
}

namespace gh::cli {

/// Where the admin API is and who calls it. Flags win over the environment; the token is
/// --admin-token, else --admin-token-file, else GATEHOUSE_ADMIN_TOKEN, else
/// GATEHOUSE_ADMIN_TOKEN_FILE.
struct AdminOptions {
  std::string url;         // --admin-url, GATEHOUSE_ADMIN_URL; default http://127.0.0.1:9901
  std::string token;       // --admin-token, GATEHOUSE_ADMIN_TOKEN
  std::string token_file;  // --admin-token-file, GATEHOUSE_ADMIN_TOKEN_FILE
  std::string tenant;      // --tenant, GATEHOUSE_TENANT_ID (commands under a tenant)
  bool json = false;       // --json: print the API's JSON instead of a table
};

/// Adds --admin-url, --admin-token, --admin-token-file and --json to `cmd` (and --tenant when
/// `with_tenant`), storing into `options`.
void add_admin_options(CLI::App& cmd, AdminOptions& options, bool with_tenant);

/// The answer of a successful call (2xx): status and parsed body (null for 204).
struct AdminReply {
  unsigned status = 0;
  boost::json::value body;
};

/// Calls the admin API: `path` starts with /v1/. A transport failure, a missing token or an
/// error status is an Error whose message is what to print (the server's message for an error
/// status, with the status). `content_type` is sent when `body` is not empty.
Result<AdminReply> admin_call(const AdminOptions& options, std::string_view method,
                              std::string_view path, std::string body = {},
                              std::string_view content_type = "application/json");

/// The tenant to work in: --tenant, else GATEHOUSE_TENANT_ID, else the only tenant there is.
Result<std::string> resolve_tenant(const AdminOptions& options);

/// Percent-encodes a path segment (RFC 3986 unreserved characters stay as they are).
std::string path_segment(std::string_view text);

/// Prints the error as `gatehouse <command>: message` on stderr and returns exit code 1.
int report_error(std::string_view command, const Error& error);

/// Prints `value` as JSON on stdout (one line).
void print_json(const boost::json::value& value);

/// A plain-text table: a header row and aligned columns, two spaces apart.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const noexcept { return rows_.empty(); }
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

/// Field helpers for the API's JSON objects: "" / 0 / false when absent or of another type.
std::string json_string(const boost::json::value& object, std::string_view key);
int64_t json_int(const boost::json::value& object, std::string_view key);
bool json_bool(const boost::json::value& object, std::string_view key);
/// A copy of the array member `key`, or an empty array when absent.
boost::json::array json_array(const boost::json::value& object, std::string_view key);

}  // namespace gh::cli
