#pragma once

#include <boost/beast/http/fields.hpp>
#include <string>
#include <string_view>

namespace gh::http {

namespace bhttp = boost::beast::http;

/// Removes hop-by-hop fields (RFC 9110 §7.6.1): Connection and every field it names,
/// Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authenticate, Proxy-Authorization.
/// Transfer-Encoding and Content-Length are framing and are handled by the caller.
void remove_hop_by_hop(bhttp::fields& fields);

/// What the gateway adds about the client hop.
struct ClientHop {
  std::string_view client_ip;  // textual address, IPv6 without brackets
  bool tls = false;
  std::string_view host;  // the client's Host (authority) as received
};

/// Appends X-Forwarded-For and Forwarded (RFC 7239, IPv6 quoted and bracketed), sets
/// X-Forwarded-Proto and X-Forwarded-Host (these two describe our listener, so a client's own
/// values are replaced, never trusted), and appends `Via: 1.1 gatehouse`.
void add_forwarding_fields(bhttp::fields& fields, const ClientHop& hop);

/// Appends `1.1 gatehouse` to Via (responses).
void append_via(bhttp::fields& fields);

/// True when `id` is acceptable as a client-supplied X-Request-Id: 1..200 printable ASCII bytes.
bool valid_request_id(std::string_view id) noexcept;

}  // namespace gh::http
