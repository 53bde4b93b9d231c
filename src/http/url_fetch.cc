#include "http/url_fetch.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "core/strings.h"
#include "crypto/openssl_error.h"
#include "net/tcp_stream.h"

namespace gh::http {
namespace {

namespace asio = net::asio;
namespace bhttp = boost::beast::http;
using net::use_tuple;

struct ParsedTarget {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string host_header;
  std::string target;  // path + query
};

Result<ParsedTarget> parse_url(std::string_view url) {
  ParsedTarget t;
  std::string_view rest;
  if (url.size() > 8 && core::iequals(url.substr(0, 8), "https://")) {
    t.tls = true;
    rest = url.substr(8);
  } else if (url.size() > 7 && core::iequals(url.substr(0, 7), "http://")) {
    rest = url.substr(7);
  } else {
    return unexpected(ErrorKind::InvalidArgument, "URL must start with http:// or https://");
  }
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view path = end == std::string_view::npos ? "/" : rest.substr(end);
  path = path.substr(0, path.find('#'));
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return unexpected(ErrorKind::InvalidArgument, "URL needs a host (and no user info)");
  }
  t.host_header = std::string(authority);
  std::string_view host = authority;
  std::string_view port;
  if (host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos)
      return unexpected(ErrorKind::InvalidArgument, "bad IPv6 host");
    if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
    host = host.substr(1, close - 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (!port.empty()) {
    auto n = core::parse_uint(port);
    if (!n || *n == 0 || *n > 65535)
      return unexpected(ErrorKind::InvalidArgument, "bad port in URL");
  }
  t.host = std::string(host);
  t.port = port.empty() ? (t.tls ? "443" : "80") : std::string(port);
  t.target = path.empty() || path.front() != '/' ? "/" + std::string(path) : std::string(path);
  return t;
}

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 9110 §5.5: field values are visible characters, spaces and tabs; CR and LF would start a
// new field.
bool is_field_value(std::string_view v) {
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

Status check_request(const FetchRequest& r) {
  if (r.method.empty() || !std::all_of(r.method.begin(), r.method.end(), is_tchar)) {
    return unexpected(ErrorKind::InvalidArgument, "the method must be an HTTP token");
  }
  for (const auto& [name, value] : r.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
      return unexpected(ErrorKind::InvalidArgument, "a header name must be an HTTP token");
    }
    // The value is not echoed: it may be a credential.
    if (!is_field_value(value)) {
      return unexpected(ErrorKind::InvalidArgument,
                        "the value of header " + name + " contains a control character");
    }
  }
  return {};
}

template <class Stream>
net::awaitable<Result<FetchedDocument>> exchange(Stream& stream, const ParsedTarget& t,
                                                 const FetchRequest& request,
                                                 const FetchOptions& options) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(request.method);
  req.target(t.target);
  req.version(11);
  req.set(bhttp::field::host, t.host_header);
  req.set(bhttp::field::user_agent, "gatehouse");
  req.set(bhttp::field::accept, "application/json");
  for (const auto& [name, value] : request.headers)
    req.set(name, value);
  req.body() = request.body;
  req.keep_alive(false);
  req.prepare_payload();
  auto [wec, w] = co_await bhttp::async_write(stream, req, use_tuple);
  if (wec)
    co_return unexpected(ErrorKind::Unavailable, "sending the request failed: " + wec.message());
  net::beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(options.max_body);
  auto [rec, r] = co_await bhttp::async_read(stream, buf, parser, use_tuple);
  if (rec == bhttp::error::body_limit) {
    co_return unexpected(ErrorKind::LimitExceeded, "response body larger than " +
                                                       std::to_string(options.max_body) + " bytes");
  }
  if (rec == net::beast::error::timeout) co_return unexpected(ErrorKind::Timeout, "timed out");
  if (rec)
    co_return unexpected(ErrorKind::Unavailable, "reading the response failed: " + rec.message());
  auto& res = parser.get();
  co_return FetchedDocument{res.result_int(), std::string(res[bhttp::field::content_type]),
                            std::move(res.body())};
}

}  // namespace

net::awaitable<Result<FetchedDocument>> send_request(FetchRequest request, FetchOptions options) {
  const std::string& url = request.url;
  if (auto ok = check_request(request); !ok) co_return unexpected(ok.error());
  auto parsed = parse_url(url);
  if (!parsed) co_return unexpected(parsed.error().with_context(url));
  const ParsedTarget& t = *parsed;
  auto executor = co_await asio::this_coro::executor;
  net::tcp::resolver resolver(executor);
  auto [rerr, endpoints] = co_await resolver.async_resolve(t.host, t.port, use_tuple);
  if (rerr) co_return unexpected(ErrorKind::Unavailable, url + ": cannot resolve " + t.host);

  net::PlainStream tcp(executor);
  tcp.expires_after(options.timeout);
  auto [cerr, ep] = co_await tcp.connect(endpoints);
  if (cerr) {
    co_return unexpected(
        cerr == net::beast::error::timeout ? ErrorKind::Timeout : ErrorKind::Unavailable,
        url + ": cannot connect: " + cerr.message());
  }
  if (!t.tls) {
    auto r = co_await exchange(tcp, t, request, options);
    if (!r) co_return unexpected(r.error().with_context(url));
    co_return r;
  }
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.set_verify_mode(net::ssl::verify_peer);
  net::error_code ec;
  if (options.ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(options.ca_file, ec);
  }
  if (ec)
    co_return unexpected(ErrorKind::InvalidArgument,
                         "cannot load CA certificates: " + ec.message());
  net::TlsStream tls(std::move(tcp), ctx);
  SSL* ssl = tls.native_handle();
  net::error_code ip_ec;
  asio::ip::make_address(t.host, ip_ec);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (ip_ec) {
    SSL_set_tlsext_host_name(ssl, t.host.c_str());
    X509_VERIFY_PARAM_set1_host(param, t.host.c_str(), 0);
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(param, t.host.c_str());
  }
  auto [herr] = co_await tls.async_handshake(net::ssl::stream_base::client, use_tuple);
  if (herr) {
    long verify = SSL_get_verify_result(ssl);
    std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : herr.message();
    crypto::clear_openssl_errors();
    co_return unexpected(ErrorKind::Unavailable, url + ": TLS handshake failed: " + why);
  }
  auto r = co_await exchange(tls, t, request, options);
  if (!r) co_return unexpected(r.error().with_context(url));
  co_return r;
}

net::awaitable<Result<FetchedDocument>> fetch_url(std::string url, FetchOptions options) {
  FetchRequest request;
  request.url = std::move(url);
  co_return co_await send_request(std::move(request), std::move(options));
}

Result<FetchedDocument> send_request_blocking(const FetchRequest& request,
                                              const FetchOptions& options) {
  asio::io_context io{1};
  std::optional<Result<FetchedDocument>> out;
  asio::co_spawn(io, send_request(request, options),
                 [&out](std::exception_ptr e, Result<FetchedDocument> r) {
                   if (e) {
                     out = unexpected(ErrorKind::Internal, "fetch failed unexpectedly");
                   } else {
                     out = std::move(r);
                   }
                 });
  io.run();
  if (!out) return unexpected(ErrorKind::Internal, "fetch did not complete");
  return std::move(*out);
}

Result<FetchedDocument> fetch_url_blocking(const std::string& url, const FetchOptions& options) {
  FetchRequest request;
  request.url = url;
  return send_request_blocking(request, options);
}

}  // namespace gh::http
