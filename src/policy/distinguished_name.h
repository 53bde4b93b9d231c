#pragma once

// Distinguished names as policies write them (validate-client-certificate `subject` and
// `issuer-subject`, apim-policies.md §4.1), parsed once at load and matched against a
// certificate's X509_NAME without allocating.
//
// Accepted spellings:
//   - APIM / .NET / Windows CertNameToStr: "CN=client, OU=Unit, O=\"Contoso, Inc.\", C=US"
//   - RFC 4514 (and OpenSSL's RFC 2253 output): "CN=client,OU=Unit,O=Contoso\, Inc.,C=US"
//   Both list the most specific RDN first (the reverse of the DER order). Separators are ',' or
//   ';' with optional spaces; '+' joins the attributes of a multi-valued RDN; values may be
//   double-quoted (inside, \" or "" is a quote) or use RFC 4514 backslash escapes (\, \+ \"
//   \\ \< \> \; \= \# and \HH hex pairs).
//   - OpenSSL's one-line form "/C=US/O=Contoso/CN=client": most general first (DER order).
// Attribute types: the usual short names in any case (CN, C, L, S or ST, O, OU, T or TITLE,
// STREET, DC, UID, E or EMAIL or EMAILADDRESS, SERIALNUMBER, SN, G or GN or GIVENNAME, I,
// POSTALCODE, DESCRIPTION), any other OpenSSL short or long name, and dotted OIDs with or
// without Windows' "OID." prefix.
//
// Matching (X.500 caseIgnoreMatch, as directories and .NET compare names): the same RDNs in the
// same order, each RDN the same set of attribute types; values equal after trimming, collapsing
// inner runs of spaces and ASCII case folding. Non-ASCII characters compare exactly.

#include <openssl/x509.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gh::policy {

class DistinguishedName {
 public:
  /// Parses one of the spellings above. InvalidArgument naming the problem (not the whole
  /// text): empty name, missing '=', unknown attribute type, unterminated quote, bad escape,
  /// '#' hex values (not supported), more than 64 RDNs or attributes.
  static Result<DistinguishedName> parse(std::string_view text);

  /// True when `name` is this DN under the rules above. Does not allocate for names whose
  /// values are UTF8String, PrintableString, IA5String, T61String or VisibleString.
  bool matches(const X509_NAME* name) const noexcept;

  /// The number of RDNs (tests).
  size_t size() const noexcept { return rdns_.size(); }

 private:
  struct Attribute {
    int nid = 0;        // NID_undef for an OID OpenSSL does not know
    std::string oid;    // dotted form, only when nid is NID_undef
    std::string value;  // folded: trimmed, inner spaces collapsed, ASCII lower-case
  };
  std::vector<std::vector<Attribute>> rdns_;  // DER order: most general first
};

/// Folds `s` the way DistinguishedName compares values (exposed for common-name matching):
/// trims spaces, collapses inner runs of spaces to one, lower-cases ASCII.
std::string fold_name_value(std::string_view s);

/// True when the raw bytes `value` fold to `folded` (see fold_name_value). No allocation.
bool folded_equals(std::string_view folded, std::string_view value) noexcept;

/// The UTF-8 value of an ASN1_STRING directory string for comparison: a view of the bytes for
/// the single-byte types; otherwise converted into `scratch`. False when it cannot be decoded.
bool name_entry_text(const ASN1_STRING* data, std::string_view& out, std::string& scratch);

}  // namespace gh::policy
