#include "policy/distinguished_name.h"

#include <openssl/objects.h>

#include <algorithm>
#include <cstring>

#include "crypto/openssl_error.h"

namespace gh::policy {
namespace {

constexpr size_t kMaxParts = 64;

core::Unexpected invalid(std::string message) {
  return unexpected(ErrorKind::InvalidArgument, "distinguished name: " + std::move(message));
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_space(char c) noexcept {
  return c == ' ';
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Windows and common aliases (case-insensitive), checked before OpenSSL's own names.
struct Alias {
  std::string_view name;
  int nid;
};
constexpr Alias kAliases[] = {
    {"CN", NID_commonName},
    {"C", NID_countryName},
    {"L", NID_localityName},
    {"S", NID_stateOrProvinceName},
    {"ST", NID_stateOrProvinceName},
    {"O", NID_organizationName},
    {"OU", NID_organizationalUnitName},
    {"T", NID_title},
    {"TITLE", NID_title},
    {"STREET", NID_streetAddress},
    {"DC", NID_domainComponent},
    {"UID", NID_userId},
    {"E", NID_pkcs9_emailAddress},
    {"EMAIL", NID_pkcs9_emailAddress},
    {"EMAILADDRESS", NID_pkcs9_emailAddress},
    {"SERIALNUMBER", NID_serialNumber},
    {"SN", NID_surname},
    {"SURNAME", NID_surname},
    {"G", NID_givenName},
    {"GN", NID_givenName},
    {"GIVENNAME", NID_givenName},
    {"I", NID_initials},
    {"INITIALS", NID_initials},
    {"POSTALCODE", NID_postalCode},
    {"DESCRIPTION", NID_description},
    {"ORGANIZATIONIDENTIFIER", NID_organizationIdentifier},
};

bool iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_dotted_oid(std::string_view s) noexcept {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (char c : s)
    if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
  return s.find("..") == std::string_view::npos;
}

// The attribute type: a NID, or the dotted OID when OpenSSL has no NID for it.
Status resolve_type(std::string_view type, int& nid, std::string& oid) {
  for (const auto& a : kAliases) {
    if (iequal(type, a.name)) {
      nid = a.nid;
      return {};
    }
  }
  std::string_view bare = type;
  if (bare.size() > 4 && iequal(bare.substr(0, 4), "OID.")) bare.remove_prefix(4);
  const std::string text(bare);
  if (is_dotted_oid(bare)) {
    ASN1_OBJECT* obj = OBJ_txt2obj(text.c_str(), 1);
    if (obj == nullptr) {
      crypto::clear_openssl_errors();
      return invalid("bad OID '" + text.substr(0, 64) + "'");
    }
    nid = OBJ_obj2nid(obj);
    ASN1_OBJECT_free(obj);
    if (nid == NID_undef) oid = text;
    return {};
  }
  bool printable = !text.empty() && text.size() <= 64;
  for (char c : text)
    printable = printable && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '-');
  nid = printable ? OBJ_txt2nid(text.c_str()) : NID_undef;
  crypto::clear_openssl_errors();
  if (nid == NID_undef) {
    return invalid(printable ? "unknown attribute type '" + text + "'"
                             : std::string("bad attribute type"));
  }
  return {};
}

}  // namespace

std::string fold_name_value(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (char c : s) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(lower(c));
  }
  return out;
}

bool folded_equals(std::string_view folded, std::string_view value) noexcept {
  size_t j = 0;
  bool pending_space = false;
  bool started = false;
  for (char c : value) {
    if (is_space(c)) {
      pending_space = started;
      continue;
    }
    if (pending_space) {
      if (j >= folded.size() || folded[j] != ' ') return false;
      ++j;
    }
    pending_space = false;
    started = true;
    if (j >= folded.size() || folded[j] != lower(c)) return false;
    ++j;
  }
  return j == folded.size();
}

bool name_entry_text(const ASN1_STRING* data, std::string_view& out, std::string& scratch) {
  if (data == nullptr) return false;
  switch (ASN1_STRING_type(data)) {
    case V_ASN1_UTF8STRING:
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_T61STRING:
    case V_ASN1_VISIBLESTRING:
      out = std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                             static_cast<size_t>(ASN1_STRING_length(data)));
      return true;
    default:
      break;
  }
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    crypto::clear_openssl_errors();
    return false;
  }
  scratch.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  out = scratch;
  return true;
}

Result<DistinguishedName> DistinguishedName::parse(std::string_view text) {
  // Leading/trailing spaces around the whole name are insignificant.
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()) &&
         !(text.size() >= 2 && text[text.size() - 2] == '\\'))
    text.remove_suffix(1);
  if (text.empty()) return invalid("empty name");
  const bool slash_form = text.front() == '/';
  if (slash_form) text.remove_prefix(1);

  DistinguishedName dn;
  std::vector<Attribute> rdn;
  size_t parts = 0;
  size_t i = 0;
  const size_t n = text.size();
  auto is_rdn_separator = [slash_form](char c) {
    return slash_form ? c == '/' : (c == ',' || c == ';');
  };
  while (true) {
    while (i < n && is_space(text[i]))
      ++i;
    // Attribute type.
    const size_t type_start = i;
    while (i < n && text[i] != '=' && text[i] != '+' && !is_rdn_separator(text[i]))
      ++i;
    if (i >= n || text[i] != '=') return invalid("expected type=value");
    std::string_view type = text.substr(type_start, i - type_start);
    while (!type.empty() && is_space(type.back()))
      type.remove_suffix(1);
    if (type.empty()) return invalid("missing attribute type before '='");
    Attribute attr;
    GH_TRY_STATUS(resolve_type(type, attr.nid, attr.oid));
    ++i;  // '='
    while (i < n && is_space(text[i]))
      ++i;
    // Attribute value.
    std::string value;
    if (i < n && text[i] == '#') return invalid("hex-encoded (#...) values are not supported");
    if (i < n && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        const char c = text[i++];
        if (c == '\\') {
          if (i >= n) return invalid("unterminated escape");
          value.push_back(text[i++]);
        } else if (c == '"') {
          if (i < n && text[i] == '"') {  // Windows: "" inside quotes is a quote
            value.push_back('"');
            ++i;
          } else {
            closed = true;
            break;
          }
        } else {
          value.push_back(c);
        }
      }
      if (!closed) return invalid("unterminated quoted value");
      while (i < n && is_space(text[i]))
        ++i;
      if (i < n && text[i] != '+' && !is_rdn_separator(text[i])) {
        return invalid("unexpected text after a quoted value");
      }
    } else {
      size_t kept = 0;  // length of value up to its last significant character
      while (i < n && text[i] != '+' && !is_rdn_separator(text[i])) {
        const char c = text[i++];
        if (c == '\\') {
          if (i >= n) return invalid("unterminated escape");
          if (i + 1 < n && hex_value(text[i]) >= 0 && hex_value(text[i + 1]) >= 0) {
            value.push_back(static_cast<char>(hex_value(text[i]) * 16 + hex_value(text[i + 1])));
            i += 2;
          } else {
            value.push_back(text[i++]);
          }
          kept = value.size();  // an escaped character is significant, even a space
        } else if (c == '"' && !slash_form) {
          return invalid("a quote inside an unquoted value must be escaped");
        } else {
          value.push_back(c);
          if (!is_space(c)) kept = value.size();
        }
      }
      value.resize(kept);
    }
    attr.value = fold_name_value(value);
    if (++parts > kMaxParts) return invalid("more than 64 attributes");
    rdn.push_back(std::move(attr));
    if (i >= n) {
      dn.rdns_.push_back(std::move(rdn));
      break;
    }
    const char sep = text[i++];
    if (sep != '+') {
      dn.rdns_.push_back(std::move(rdn));
      rdn.clear();
      if (i >= n) return invalid("trailing separator");
    }
  }
  // The comma forms list the most specific RDN first; keep DER order.
  if (!slash_form) std::reverse(dn.rdns_.begin(), dn.rdns_.end());
  return dn;
}

bool DistinguishedName::matches(const X509_NAME* name) const noexcept {
  const int count = X509_NAME_entry_count(name);
  size_t rdn_index = 0;
  int i = 0;
  std::string scratch;
  while (i < count) {
    // One RDN: the consecutive entries sharing a set number.
    const int set = X509_NAME_ENTRY_set(X509_NAME_get_entry(name, i));
    int end = i;
    while (end < count && X509_NAME_ENTRY_set(X509_NAME_get_entry(name, end)) == set)
      ++end;
    if (rdn_index >= rdns_.size()) return false;
    const auto& expected = rdns_[rdn_index++];
    if (static_cast<size_t>(end - i) != expected.size()) return false;
    uint64_t used = 0;
    for (int k = i; k < end; ++k) {
      const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, k);
      const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(entry);
      const int nid = OBJ_obj2nid(obj);
      std::string_view text;
      if (!name_entry_text(X509_NAME_ENTRY_get_data(entry), text, scratch)) return false;
      bool found = false;
      for (size_t a = 0; a < expected.size() && !found; ++a) {
        if (used & (uint64_t{1} << a)) continue;
        const Attribute& attr = expected[a];
        if (attr.nid != NID_undef) {
          if (attr.nid != nid) continue;
        } else {
          char oid[128];
          const int len = OBJ_obj2txt(oid, sizeof oid, obj, 1);
          if (len <= 0 || static_cast<size_t>(len) >= sizeof oid ||
              attr.oid != std::string_view(oid, static_cast<size_t>(len))) {
            continue;
          }
        }
        if (!folded_equals(attr.value, text)) continue;
        used |= uint64_t{1} << a;
        found = true;
      }
      if (!found) return false;
    }
    i = end;
  }
  return rdn_index == rdns_.size();
}

}  // namespace gh::policy
