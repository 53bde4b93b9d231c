#pragma once

#include <boost/beast/http/fields.hpp>
#include <string>
#include <string_view>

namespace gh::http {

namespace bhttp = boost::beast::http;

/// What the gateway adds about the client hop.
struct ClientHop {
  std::string_view client_ip;  // textual address, IPv6 without brackets
  bool tls = false;
  std::string_view host;  // the client's Host (authority) as received
};

/// True when `id` is acceptable as a client-supplied X-Request-Id: 1..200 printable ASCII bytes.
bool valid_request_id(std::string_view id) noexcept;

}  // namespace gh::http
