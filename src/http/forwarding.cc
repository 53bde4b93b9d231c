#include "http/forwarding.h"

#include <boost/beast/http/rfc7230.hpp>
#include <cctype>
#include <vector>

#include "core/strings.h"

namespace gh::http {
namespace {

template <typename Name>
void append_field(bhttp::fields& fields, Name name, std::string_view value) {
  auto it = fields.find(name);
  if (it == fields.end()) {
    fields.set(name, value);
    return;
  }
  // Several instances of the field are joined into one, in order (RFC 9110 §5.3).
  std::string joined;
  for (auto i = it; i != fields.end() && core::iequals(i->name_string(), it->name_string()); ++i) {
    if (!joined.empty()) joined += ", ";
    joined.append(i->value());
  }
  joined += ", ";
  joined.append(value);
  fields.set(name, joined);
}

}  // namespace

void remove_hop_by_hop(bhttp::fields& fields) {
  auto conn = fields.find(bhttp::field::connection);
  if (conn != fields.end()) {
    std::vector<std::string> named;
    for (auto i = conn; i != fields.end() && i->name() == bhttp::field::connection; ++i) {
      for (auto token : bhttp::token_list{i->value()})
        named.emplace_back(token);
    }
    for (const auto& n : named) {
      // Framing fields are never removed because a client names them.
      if (core::iequals(n, "content-length") || core::iequals(n, "transfer-encoding") ||
          core::iequals(n, "host")) {
        continue;
      }
      fields.erase(n);
    }
    fields.erase(bhttp::field::connection);
  }
  fields.erase(bhttp::field::keep_alive);
  fields.erase(bhttp::field::proxy_connection);
  fields.erase(bhttp::field::te);
  fields.erase(bhttp::field::trailer);
  fields.erase(bhttp::field::upgrade);
  fields.erase(bhttp::field::proxy_authenticate);
  fields.erase(bhttp::field::proxy_authorization);
}

void add_forwarding_fields(bhttp::fields& fields, const ClientHop& hop) {
  append_field(fields, "X-Forwarded-For", hop.client_ip);
  fields.set("X-Forwarded-Proto", hop.tls ? "https" : "http");
  if (!hop.host.empty()) {
    fields.set("X-Forwarded-Host", hop.host);
  } else {
    fields.erase("X-Forwarded-Host");
  }
  std::string fwd = "for=";
  if (hop.client_ip.find(':') != std::string_view::npos) {
    fwd += "\"[";
    fwd.append(hop.client_ip);
    fwd += "]\"";
  } else {
    fwd.append(hop.client_ip);
  }
  fwd += hop.tls ? ";proto=https" : ";proto=http";
  if (!hop.host.empty()) {
    // host is a token or quoted-string; quote when it holds anything but token characters.
    bool plain = true;
    for (char c : hop.host) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
        plain = false;
        break;
      }
    }
    fwd += ";host=";
    if (plain) {
      fwd.append(hop.host);
    } else {
      fwd += '"';
      for (char c : hop.host) {
        if (c == '"' || c == '\\') fwd += '\\';
        fwd += c;
      }
      fwd += '"';
    }
  }
  append_field(fields, bhttp::field::forwarded, fwd);
  append_via(fields);
}

void append_via(bhttp::fields& fields) {
  append_field(fields, bhttp::field::via, "1.1 gatehouse");
}

bool valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 200) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace gh::http
