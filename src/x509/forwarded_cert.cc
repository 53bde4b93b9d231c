#include "x509/forwarded_cert.h"

#include "core/encoding.h"
#include "x509/cert_loader.h"

namespace gh::x509 {
namespace {

core::Unexpected fail(ForwardedCertError code, std::string message) {
  const ErrorKind kind =
      (code == ForwardedCertError::TooLarge || code == ForwardedCertError::TooMany)
          ? ErrorKind::LimitExceeded
          : ErrorKind::InvalidArgument;
  return unexpected(kind, "forwarded client certificate: " + std::move(message),
                    static_cast<int>(code));
}

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

Status check_size(std::string_view value, const ForwardedCertLimits& limits) {
  if (value.size() > limits.max_value_bytes) {
    return fail(ForwardedCertError::TooLarge,
                "header value exceeds " + std::to_string(limits.max_value_bytes) + " bytes");
  }
  if (trim_ows(value).empty()) return fail(ForwardedCertError::Empty, "header value is empty");
  return {};
}

Result<Certificate> cert_from_der(std::span<const uint8_t> der) {
  auto cert = Certificate::from_der(der);
  if (!cert)
    return fail(ForwardedCertError::NotCertificate, "decoded bytes are not one DER certificate");
  return cert;
}

// A simple cursor over a structured-field string (RFC 8941 §4.2).
class SfCursor {
 public:
  explicit SfCursor(std::string_view s) : s_(s) {}
  bool done() const noexcept { return pos_ >= s_.size(); }
  char peek() const noexcept { return done() ? '\0' : s_[pos_]; }
  void skip_sp() noexcept {
    while (!done() && s_[pos_] == ' ')
      ++pos_;
  }
  void skip_ows() noexcept {
    while (!done() && is_ows(s_[pos_]))
      ++pos_;
  }
  bool consume(char c) noexcept {
    if (peek() != c || done()) return false;
    ++pos_;
    return true;
  }

  // sf-binary: ":" *(base64) ":". Padding may be missing (RFC 8941 §4.2.7 says SHOULD accept).
  Result<core::Bytes> byte_sequence() {
    if (!consume(':')) return fail(ForwardedCertError::BadSyntax, "expected ':' byte sequence");
    size_t end = s_.find(':', pos_);
    if (end == std::string_view::npos) {
      return fail(ForwardedCertError::BadSyntax, "unterminated byte sequence");
    }
    std::string_view b64 = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    if (b64.empty()) return fail(ForwardedCertError::Empty, "empty byte sequence");
    auto bytes = core::base64_decode(b64, /*allow_missing_padding=*/true);
    if (!bytes) return fail(ForwardedCertError::BadEncoding, "byte sequence is not valid base64");
    return bytes;
  }

  // parameters: *( ";" *SP key [ "=" bare-item ] ), all ignored (RFC 9440 defines none).
  Status skip_parameters() {
    while (consume(';')) {
      skip_sp();
      size_t start = pos_;
      while (!done() && is_key_char(peek()))
        ++pos_;
      if (pos_ == start || !(s_[start] == '*' || (s_[start] >= 'a' && s_[start] <= 'z'))) {
        return fail(ForwardedCertError::BadSyntax, "bad parameter key");
      }
      if (consume('=')) GH_TRY_STATUS(skip_bare_item());
    }
    return {};
  }

 private:
  static bool is_key_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
           c == '*';
  }
  static bool is_token_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~:/").find(c) != std::string_view::npos;
  }
  Status skip_bare_item() {
    const char c = peek();
    if (c == '"') {
      ++pos_;
      while (!done()) {
        char ch = s_[pos_++];
        if (ch == '\\') {
          if (done() || (s_[pos_] != '"' && s_[pos_] != '\\')) break;
          ++pos_;
        } else if (ch == '"') {
          return {};
        } else if (ch < 0x20 || ch > 0x7e) {
          break;
        }
      }
      return fail(ForwardedCertError::BadSyntax, "bad string parameter");
    }
    if (c == ':') {
      GH_TRY(auto ignored, byte_sequence());
      (void)ignored;
      return {};
    }
    if (c == '?') {
      ++pos_;
      if (consume('0') || consume('1')) return {};
      return fail(ForwardedCertError::BadSyntax, "bad boolean parameter");
    }
    size_t start = pos_;
    while (!done() && is_token_char(peek()))
      ++pos_;
    if (pos_ == start) return fail(ForwardedCertError::BadSyntax, "bad parameter value");
    return {};
  }

  std::string_view s_;
  size_t pos_ = 0;
};

Result<std::string> percent_decode(std::string_view in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0) {
      return fail(ForwardedCertError::BadEncoding, "malformed percent-escape");
    }
    out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
    i += 2;
  }
  return out;
}

Result<std::vector<Certificate>> pem_certs(std::string_view pem, size_t max) {
  if (!looks_like_pem(pem)) return fail(ForwardedCertError::NotCertificate, "not PEM");
  auto certs = load_certificates(pem);
  if (!certs) {
    return fail(ForwardedCertError::NotCertificate, "PEM: " + certs.error().message);
  }
  if (certs->size() > max) {
    return fail(ForwardedCertError::TooMany, "more than " + std::to_string(max) + " certificates");
  }
  return certs;
}

Result<Certificate> single_pem_cert(std::string_view url_encoded) {
  GH_TRY(auto pem, percent_decode(url_encoded));
  GH_TRY(auto certs, pem_certs(pem, 1));
  return std::move(certs.front());
}

}  // namespace

Result<Certificate> decode_rfc9440_client_cert(std::string_view value,
                                               const ForwardedCertLimits& limits) {
  GH_TRY_STATUS(check_size(value, limits));
  SfCursor c(value);
  c.skip_sp();
  GH_TRY(auto der, c.byte_sequence());
  GH_TRY_STATUS(c.skip_parameters());
  c.skip_sp();
  if (!c.done()) return fail(ForwardedCertError::BadSyntax, "trailing characters after item");
  return cert_from_der(der);
}

Result<std::vector<Certificate>> decode_rfc9440_client_cert_chain(
    std::string_view value, const ForwardedCertLimits& limits) {
  GH_TRY_STATUS(check_size(value, limits));
  std::vector<Certificate> out;
  SfCursor c(value);
  c.skip_sp();
  while (true) {
    if (out.size() == limits.max_chain_certs) {
      return fail(ForwardedCertError::TooMany,
                  "more than " + std::to_string(limits.max_chain_certs) + " chain certificates");
    }
    GH_TRY(auto der, c.byte_sequence());
    GH_TRY_STATUS(c.skip_parameters());
    GH_TRY(auto cert, cert_from_der(der));
    out.push_back(std::move(cert));
    c.skip_ows();
    if (c.done()) return out;
    if (!c.consume(',')) return fail(ForwardedCertError::BadSyntax, "expected ',' in list");
    c.skip_ows();
    if (c.done()) return fail(ForwardedCertError::BadSyntax, "trailing ',' in list");
  }
}

Result<Certificate> decode_base64_der_cert(std::string_view value,
                                           const ForwardedCertLimits& limits) {
  GH_TRY_STATUS(check_size(value, limits));
  auto der = core::base64_decode(trim_ows(value));
  if (!der) return fail(ForwardedCertError::BadEncoding, "value is not valid base64");
  return cert_from_der(*der);
}

Result<Certificate> decode_url_encoded_pem_cert(std::string_view value,
                                                const ForwardedCertLimits& limits) {
  GH_TRY_STATUS(check_size(value, limits));
  return single_pem_cert(trim_ows(value));
}

const std::string* XfccElement::find(std::string_view key) const noexcept {
  for (const auto& [k, v] : fields) {
    if (k == key) return &v;
  }
  return nullptr;
}

Result<std::vector<XfccElement>> parse_xfcc(std::string_view value,
                                            const ForwardedCertLimits& limits) {
  GH_TRY_STATUS(check_size(value, limits));
  std::vector<XfccElement> elements(1);
  size_t i = 0;
  const size_t n = value.size();
  while (true) {
    while (i < n && is_ows(value[i]))
      ++i;
    // key
    size_t key_start = i;
    while (i < n && value[i] != '=' && value[i] != ';' && value[i] != ',' && value[i] != '"')
      ++i;
    std::string key(trim_ows(value.substr(key_start, i - key_start)));
    if (key.empty() || i >= n || value[i] != '=') {
      return fail(ForwardedCertError::BadSyntax, "XFCC pair without key=value");
    }
    for (char& ch : key) {
      const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '-' ||
                      ch == '_' || (ch >= '0' && ch <= '9');
      if (!ok) return fail(ForwardedCertError::BadSyntax, "bad character in XFCC key");
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');  // keys ignore case
    }
    ++i;  // '='
    std::string val;
    if (i < n && value[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        char ch = value[i++];
        if (ch == '\\') {
          if (i >= n || (value[i] != '"' && value[i] != '\\')) {
            return fail(ForwardedCertError::BadSyntax, "bad escape in XFCC quoted value");
          }
          val.push_back(value[i++]);
        } else if (ch == '"') {
          closed = true;
          break;
        } else {
          val.push_back(ch);
        }
      }
      if (!closed) return fail(ForwardedCertError::BadSyntax, "unterminated XFCC quoted value");
    } else {
      size_t start = i;
      while (i < n && value[i] != ';' && value[i] != ',' && value[i] != '"' && value[i] != '=')
        ++i;
      if (i < n && (value[i] == '"' || value[i] == '=')) {
        return fail(ForwardedCertError::BadSyntax, "unquoted XFCC value contains '\"' or '='");
      }
      val = std::string(trim_ows(value.substr(start, i - start)));
    }
    elements.back().fields.emplace_back(std::move(key), std::move(val));
    while (i < n && is_ows(value[i]))
      ++i;
    if (i >= n) break;
    if (value[i] == ';') {
      ++i;
    } else if (value[i] == ',') {
      ++i;
      if (elements.size() == limits.max_xfcc_elements) {
        return fail(ForwardedCertError::TooMany,
                    "more than " + std::to_string(limits.max_xfcc_elements) + " XFCC elements");
      }
      elements.emplace_back();
    } else {
      return fail(ForwardedCertError::BadSyntax, "expected ';' or ',' after XFCC value");
    }
  }
  return elements;
}

Result<Certificate> decode_xfcc_cert(std::string_view value, const ForwardedCertLimits& limits) {
  GH_TRY(auto elements, parse_xfcc(value, limits));
  const std::string* cert = elements.back().find("cert");
  if (cert == nullptr || cert->empty()) {
    return fail(ForwardedCertError::MissingCert, "last XFCC element has no Cert field");
  }
  return single_pem_cert(*cert);
}

Result<Certificate> decode_forwarded_cert(ForwardedCertFormat format, std::string_view value,
                                          const ForwardedCertLimits& limits) {
  switch (format) {
    case ForwardedCertFormat::Rfc9440:
      return decode_rfc9440_client_cert(value, limits);
    case ForwardedCertFormat::Base64Der:
      return decode_base64_der_cert(value, limits);
    case ForwardedCertFormat::UrlEncodedPem:
      return decode_url_encoded_pem_cert(value, limits);
    case ForwardedCertFormat::EnvoyXfcc:
      return decode_xfcc_cert(value, limits);
  }
  return fail(ForwardedCertError::BadSyntax, "unknown format");
}

}  // namespace gh::x509
