#include "http/forward_head.h"

#include <array>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/status.hpp>
#include <cctype>

#include "core/strings.h"
#include "http/response_head.h"

namespace gh::http {
namespace {

bool always_hop_by_hop(bhttp::field f) noexcept {
  switch (f) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::te:
    case bhttp::field::trailer:
    case bhttp::field::upgrade:
    case bhttp::field::proxy_authenticate:
    case bhttp::field::proxy_authorization:
      return true;
    default:
      return false;
  }
}

bool framing_field(bhttp::field f) noexcept {
  return f == bhttp::field::content_length || f == bhttp::field::transfer_encoding ||
         f == bhttp::field::host;
}

/// The field names a message's Connection header lists, without allocating (RFC 9110 §7.6.1).
class ConnectionTokens {
 public:
  // A walk over the fields, not a lookup: a head has a handful, and this works for Beast's
  // fields and for a ResponseHead alike.
  template <class Fields>
  explicit ConnectionTokens(const Fields& fields) {
    for (const auto& f : fields) {
      if (f.name() != bhttp::field::connection) continue;
      for (auto token : bhttp::token_list{f.value()}) {
        if (count_ < names_.size()) {
          names_[count_++] = token;
        } else {
          overflow_ = true;  // more than we track: treat every unknown field as named
        }
      }
    }
  }
  bool names(std::string_view field) const noexcept {
    for (size_t i = 0; i < count_; ++i) {
      if (core::iequals(names_[i], field)) return true;
    }
    return false;
  }

  /// True when `f` must not be forwarded: a standard hop-by-hop field, or one the Connection
  /// header names (never framing fields or Host; with too many names to track, every field
  /// Beast does not know is dropped rather than risk forwarding a named one).
  template <class Field>
  bool hop_by_hop(const Field& f) const noexcept {
    const auto id = f.name();
    if (always_hop_by_hop(id)) return true;
    if (framing_field(id)) return false;
    return names(f.name_string()) || (overflow_ && id == bhttp::field::unknown);
  }

 private:
  std::array<std::string_view, 8> names_{};
  size_t count_ = 0;
  bool overflow_ = false;
};

void append_line(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out += ": ";
  out.append(value);
  out += "\r\n";
}

/// The values a field already carries, in order, to which this hop appends its own (RFC 9110
/// §5.3: several lines of a list field are one comma-separated list). One line is the usual case
/// and costs no allocation; further lines are joined into `more`.
class FieldChain {
 public:
  void add(std::string_view value) {
    if (first_.empty()) {
      first_ = value;
      return;
    }
    if (!more_.empty()) more_ += ", ";
    more_.append(value);
  }
  /// Writes the existing values followed by ", " (nothing when there are none).
  void write_prefix(std::string& out) const {
    if (first_.empty()) return;
    out.append(first_);
    out += ", ";
    if (more_.empty()) return;
    out += more_;
    out += ", ";
  }

 private:
  std::string_view first_;
  std::string more_;
};

void append_forwarded_element(std::string& out, const ClientHop& hop) {
  out += "for=";
  if (hop.client_ip.find(':') != std::string_view::npos) {
    out += "\"[";
    out.append(hop.client_ip);
    out += "]\"";
  } else {
    out.append(hop.client_ip);
  }
  out += hop.tls ? ";proto=https" : ";proto=http";
  if (hop.host.empty()) return;
  out += ";host=";
  bool plain = true;
  for (char c : hop.host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out.append(hop.host);
    return;
  }
  out += '"';
  for (char c : hop.host) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

bool dropped(std::string_view name, std::span<const std::string_view> drop) {
  for (auto d : drop)
    if (core::iequals(d, name)) return true;
  return false;
}

}  // namespace

std::string_view reason_phrase(unsigned status) noexcept {
  if (bhttp::int_to_status(status) == bhttp::status::unknown) return {};
  return bhttp::obsolete_reason(static_cast<bhttp::status>(status));
}

void write_forward_request_head(std::string& out, const bhttp::request_header<>& head,
                                const RequestAdditions& add) {
  const ConnectionTokens named(head);
  FieldChain xff, forwarded, via;
  std::string_view front_proto, front_host;  // a trusted front's claims (trust_forwarded)
  out.append(head.method_string());
  out += ' ';
  out.append(add.target);
  out += " HTTP/1.1\r\nHost: ";
  out.append(add.host_header);
  out += "\r\n";
  for (const auto& f : head) {
    const auto id = f.name();
    if (named.hop_by_hop(f) || id == bhttp::field::expect || id == bhttp::field::host) continue;
    const std::string_view name = f.name_string();
    if (id == bhttp::field::via) {
      via.add(f.value());
      continue;
    }
    if (id == bhttp::field::forwarded) {
      forwarded.add(f.value());
      continue;
    }
    if (core::iequals(name, "X-Forwarded-For")) {
      xff.add(f.value());
      continue;
    }
    if (core::iequals(name, "X-Forwarded-Proto")) {
      if (add.trust_forwarded && front_proto.empty() &&
          (core::iequals(f.value(), "https") || core::iequals(f.value(), "http")))
        front_proto = core::iequals(f.value(), "https") ? "https" : "http";
      continue;  // ours to set: a client cannot claim https
    }
    if (core::iequals(name, "X-Forwarded-Host")) {
      if (add.trust_forwarded && front_host.empty()) front_host = f.value();
      continue;  // nor choose another host
    }
    if (core::iequals(name, "X-Request-Id")) continue;
    if (!add.drop.empty() && dropped(name, add.drop)) continue;
    append_line(out, name, f.value());
  }
  out.append(add.extra);
  out += "X-Forwarded-For: ";
  xff.write_prefix(out);
  out.append(add.hop.client_ip);
  if (front_proto.empty()) front_proto = add.hop.tls ? "https" : "http";
  out += "\r\nX-Forwarded-Proto: ";
  out += front_proto;
  out += "\r\n";
  if (front_host.empty()) front_host = add.hop.host;
  if (!front_host.empty()) append_line(out, "X-Forwarded-Host", front_host);
  out += "Forwarded: ";
  forwarded.write_prefix(out);
  append_forwarded_element(out, add.hop);
  out += "\r\nVia: ";
  via.write_prefix(out);
  out += "1.1 gatehouse\r\nX-Request-Id: ";
  out.append(add.request_id);
  out += "\r\n\r\n";
}

template <class Head>
void write_forward_response_head(std::string& out, const Head& head, const ResponseAdditions& add) {
  const ConnectionTokens named(head);
  out += add.client_version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
  const unsigned status = add.status != 0 ? add.status : head.result_int();
  const char code[4] = {char('0' + status / 100 % 10), char('0' + status / 10 % 10),
                        char('0' + status % 10), ' '};
  out.append(code, 4);
  // Beast's reason() fills an empty one with its own table, including "<unknown-status>".
  std::string_view reason = head.reason();
  if (add.status != 0) reason = add.reason;
  if (reason.empty() ||
      (add.status == 0 && reason == bhttp::obsolete_reason(bhttp::int_to_status(status)))) {
    reason = reason_phrase(status);
  }
  out.append(reason);
  out += "\r\n";
  FieldChain via;
  bool has_te = false;
  for (const auto& f : head) {
    const auto id = f.name();
    if (named.hop_by_hop(f)) continue;
    const std::string_view name = f.name_string();
    if (id == bhttp::field::via) {
      via.add(f.value());
      continue;
    }
    if (id == bhttp::field::transfer_encoding) {
      if (add.framing == OutFraming::Close) continue;  // HTTP/1.0: raw bytes, then close
      has_te = true;
    }
    if (core::iequals(name, "X-Request-Id")) continue;
    if (!add.drop.empty() && dropped(name, add.drop)) continue;
    append_line(out, name, f.value());
  }
  out.append(add.extra);
  if (add.framing == OutFraming::Chunked && !has_te) out += "Transfer-Encoding: chunked\r\n";
  out += "Via: ";
  via.write_prefix(out);
  out += "1.1 gatehouse\r\nX-Request-Id: ";
  out.append(add.request_id);
  out += "\r\n";
  if (!add.keep_alive && add.client_version >= 11) out += "Connection: close\r\n";
  if (add.keep_alive && add.client_version < 11) out += "Connection: keep-alive\r\n";
  out += "\r\n";
}

template void write_forward_response_head(std::string&, const bhttp::response_header<>&,
                                          const ResponseAdditions&);
template void write_forward_response_head(std::string&, const ResponseHead&,
                                          const ResponseAdditions&);

}  // namespace gh::http
