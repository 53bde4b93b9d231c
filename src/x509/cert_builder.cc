#include "x509/cert_builder.h"

#include <arpa/inet.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>

#include "core/strings.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/openssl_error.h"
#include "crypto/random.h"

namespace gh::x509 {
namespace {

constexpr int64_t kBackdateSeconds = 300;

core::Unexpected invalid(std::string message) {
  crypto::clear_openssl_errors();
  return unexpected(ErrorKind::InvalidArgument, std::move(message));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

// Splits on `sep` unless preceded by a backslash; unescapes `\<c>`.
std::vector<std::string> split_escaped(std::string_view text, char sep) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      parts.back().push_back(text[++i]);
    } else if (text[i] == sep) {
      parts.emplace_back();
    } else {
      parts.back().push_back(text[i]);
    }
  }
  return parts;
}

const EVP_MD* signing_digest(const EVP_PKEY* key) {
  // Ed25519/Ed448 sign the message directly and take no digest.
  return crypto::key_type(key) == crypto::KeyType::Ed25519 ||
                 EVP_PKEY_get_base_id(key) == EVP_PKEY_ED448
             ? nullptr
             : crypto::md(crypto::DigestAlg::Sha256);
}

Result<crypto::GeneralNamesPtr> general_names(const SubjectAltNames& sans) {
  crypto::GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return unexpected(crypto::openssl_error("cannot allocate names"));
  auto add_ia5 = [&](int type, const std::string& v) -> Status {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    if (!gn || !s || ASN1_STRING_set(s, v.data(), static_cast<int>(v.size())) != 1) {
      GENERAL_NAME_free(gn);
      ASN1_IA5STRING_free(s);
      return unexpected(crypto::openssl_error("cannot build subjectAltName"));
    }
    GENERAL_NAME_set0_value(gn, type, s);
    if (sk_GENERAL_NAME_push(names.get(), gn) <= 0) {
      GENERAL_NAME_free(gn);
      return unexpected(crypto::openssl_error("cannot build subjectAltName"));
    }
    return {};
  };
  for (const auto& d : sans.dns)
    GH_TRY_STATUS(add_ia5(GEN_DNS, d));
  for (const auto& u : sans.uri)
    GH_TRY_STATUS(add_ia5(GEN_URI, u));
  for (const auto& e : sans.email)
    GH_TRY_STATUS(add_ia5(GEN_EMAIL, e));
  for (const auto& ip : sans.ip) {
    ASN1_OCTET_STRING* os = a2i_IPADDRESS(ip.c_str());
    if (!os) return invalid("not an IP address in SAN: " + ip);
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (!gn) {
      ASN1_OCTET_STRING_free(os);
      return unexpected(crypto::openssl_error("cannot build subjectAltName"));
    }
    GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
    if (sk_GENERAL_NAME_push(names.get(), gn) <= 0) {
      GENERAL_NAME_free(gn);
      return unexpected(crypto::openssl_error("cannot build subjectAltName"));
    }
  }
  return names;
}

// Adds an extension given in OpenSSL's config syntax ("critical,CA:TRUE") to a certificate.
Status add_ext(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  crypto::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return unexpected(
        crypto::openssl_error(std::string("cannot add extension ") + OBJ_nid2sn(nid)));
  }
  return {};
}

}  // namespace

Result<crypto::X509NamePtr> parse_distinguished_name(std::string_view text) {
  text = trim(text);
  if (text.empty()) return invalid("empty subject");
  std::vector<std::string> rdns;
  if (text.front() == '/') {
    rdns = split_escaped(text.substr(1), '/');  // least specific first already
  } else {
    rdns = split_escaped(text, ',');
    std::reverse(rdns.begin(), rdns.end());  // RFC 4514 lists the most specific first
  }
  crypto::X509NamePtr name(X509_NAME_new());
  if (!name) return unexpected(crypto::openssl_error("cannot allocate name"));
  for (const auto& rdn : rdns) {
    auto eq = rdn.find('=');
    if (eq == std::string::npos) return invalid("subject part without '=': " + rdn);
    std::string attr(trim(std::string_view(rdn).substr(0, eq)));
    std::string value(trim(std::string_view(rdn).substr(eq + 1)));
    if (attr.empty() || value.empty()) return invalid("empty attribute or value in subject");
    if (OBJ_txt2nid(attr.c_str()) == NID_undef) {
      return invalid("unknown subject attribute: " + attr);
    }
    if (X509_NAME_add_entry_by_txt(name.get(), attr.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      return invalid("subject value rejected for " + attr);
    }
  }
  return name;
}

Result<SubjectAltNames> parse_san_list(std::string_view text) {
  SubjectAltNames out;
  for (const auto& raw : split_escaped(text, ',')) {
    std::string_view item = trim(raw);
    if (item.empty()) continue;
    auto colon = item.find(':');
    if (colon == std::string_view::npos)
      return invalid("SAN needs a type prefix: " + std::string(item));
    std::string type(item.substr(0, colon));
    for (char& c : type)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value(trim(item.substr(colon + 1)));
    if (value.empty()) return invalid("empty SAN value for " + type);
    if (type == "dns") {
      out.dns.push_back(std::move(value));
    } else if (type == "ip") {
      unsigned char buf[16];
      if (inet_pton(AF_INET, value.c_str(), buf) != 1 &&
          inet_pton(AF_INET6, value.c_str(), buf) != 1) {
        return invalid("not an IP address in SAN: " + value);
      }
      out.ip.push_back(std::move(value));
    } else if (type == "uri") {
      out.uri.push_back(std::move(value));
    } else if (type == "email") {
      out.email.push_back(std::move(value));
    } else {
      return invalid("unknown SAN type '" + type + "' (DNS, IP, URI, email)");
    }
  }
  return out;
}

namespace {

Result<void> add_authority_key_id(X509* cert, X509* issuer) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  crypto::X509ExtensionPtr ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return unexpected(crypto::openssl_error("cannot add authorityKeyIdentifier"));
  }
  return {};
}

// Builds and signs a certificate for `key`; self-signed when `issuer` is null.
Result<Certificate> build_certificate(EVP_PKEY* key, const CertSpec& spec, const core::Clock& clock,
                                      const Certificate* issuer, EVP_PKEY* issuer_key) {
  if (spec.days <= 0 || spec.days > 36500) return invalid("--days must be 1..36500");
  GH_TRY(auto name, parse_distinguished_name(spec.subject));
  crypto::X509Ptr cert(X509_new());
  if (!cert) return unexpected(crypto::openssl_error("cannot allocate certificate"));
  X509_set_version(cert.get(), X509_VERSION_3);

  // RFC 5280 §4.1.2.2: positive, at most 20 octets; 127 random bits leave the top bit clear.
  uint8_t serial[16];
  crypto::random_bytes(serial);
  serial[0] &= 0x7f;
  serial[0] |= 0x01;  // avoid a leading zero octet so the length is stable
  crypto::BignumPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) {
    return unexpected(crypto::openssl_error("cannot set serial"));
  }
  const time_t now = static_cast<time_t>(clock.now_unix());
  if (!ASN1_TIME_adj(X509_getm_notBefore(cert.get()), now, 0, -kBackdateSeconds) ||
      !ASN1_TIME_adj(X509_getm_notAfter(cert.get()), now, spec.days, 0)) {
    return unexpected(crypto::openssl_error("cannot set validity"));
  }
  if (X509_set_subject_name(cert.get(), name.get()) != 1 ||
      X509_set_issuer_name(cert.get(),
                           issuer ? X509_get_subject_name(issuer->get()) : name.get()) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return unexpected(crypto::openssl_error("cannot set names or key"));
  }
  if (spec.is_ca) {
    GH_TRY_STATUS(add_ext(cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
    GH_TRY_STATUS(add_ext(cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    GH_TRY_STATUS(add_ext(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
    const bool rsa = crypto::key_type(key) == crypto::KeyType::Rsa;
    GH_TRY_STATUS(
        add_ext(cert.get(), NID_key_usage,
                rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"));
    GH_TRY_STATUS(add_ext(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
  }
  GH_TRY_STATUS(add_ext(cert.get(), NID_subject_key_identifier, "hash"));
  if (issuer) GH_TRY_STATUS(add_authority_key_id(cert.get(), issuer->get()));
  if (!spec.sans.empty()) {
    GH_TRY(auto names, general_names(spec.sans));
    if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) !=
        1) {
      return unexpected(crypto::openssl_error("cannot add subjectAltName"));
    }
  }
  EVP_PKEY* signer = issuer ? issuer_key : key;
  if (X509_sign(cert.get(), signer, signing_digest(signer)) <= 0) {
    return unexpected(crypto::openssl_error("cannot sign certificate"));
  }
  return Certificate(std::move(cert));
}

}  // namespace

Result<Certificate> make_self_signed(EVP_PKEY* key, const CertSpec& spec,
                                     const core::Clock& clock) {
  return build_certificate(key, spec, clock, nullptr, nullptr);
}

Result<Certificate> make_issued(EVP_PKEY* key, const CertSpec& spec, const Certificate& issuer,
                                EVP_PKEY* issuer_key, const core::Clock& clock) {
  if (X509_check_private_key(issuer.get(), issuer_key) != 1) {
    crypto::clear_openssl_errors();
    return invalid("issuer key does not match the issuer certificate");
  }
  return build_certificate(key, spec, clock, &issuer, issuer_key);
}

Result<crypto::X509ReqPtr> make_csr(EVP_PKEY* key, const CertSpec& spec) {
  GH_TRY(auto name, parse_distinguished_name(spec.subject));
  crypto::X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key) != 1) {
    return unexpected(crypto::openssl_error("cannot build certificate request"));
  }
  if (!spec.sans.empty()) {
    GH_TRY(auto names, general_names(spec.sans));
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get());
    const bool ok = exts && ext && sk_X509_EXTENSION_push(exts, ext) > 0 &&
                    X509_REQ_add_extensions(req.get(), exts) == 1;
    if (exts && ext && sk_X509_EXTENSION_num(exts) == 0) X509_EXTENSION_free(ext);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (!ok) return unexpected(crypto::openssl_error("cannot add subjectAltName to request"));
  }
  if (X509_REQ_sign(req.get(), key, signing_digest(key)) <= 0) {
    return unexpected(crypto::openssl_error("cannot sign certificate request"));
  }
  return req;
}

Result<std::string> csr_pem(X509_REQ* req) {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req) != 1) {
    return unexpected(crypto::openssl_error("cannot encode certificate request"));
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace gh::x509
