#include "x509/certificate.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/pem.h>

#include "crypto/digest.h"
#include "crypto/openssl_error.h"

namespace gh::x509 {
namespace {

std::string name_rfc2253(const X509_NAME* name) {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    crypto::clear_openssl_errors();
    return {};
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string last_cn(const X509_NAME* name) {
  int idx = -1;
  int last = -1;
  while ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, idx)) >= 0)
    last = idx;
  if (last < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    crypto::clear_openssl_errors();
    return {};
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

int64_t asn1_time_to_unix(const ASN1_TIME* t) noexcept {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string ip_to_string(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  const unsigned char* d = ASN1_STRING_get0_data(ip);
  int len = ASN1_STRING_length(ip);
  if (len == 4 && inet_ntop(AF_INET, d, buf, sizeof buf)) return buf;
  if (len == 16 && inet_ntop(AF_INET6, d, buf, sizeof buf)) return buf;
  return "invalid:" + core::hex_encode({d, static_cast<size_t>(len)});
}

std::string ia5_to_string(const ASN1_IA5STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

}  // namespace

Certificate::Certificate(crypto::X509Ptr cert) noexcept : cert_(std::move(cert)) {}

Certificate::Certificate(const Certificate& other) noexcept
    : cert_(crypto::share(other.cert_.get())) {}

Certificate& Certificate::operator=(const Certificate& other) noexcept {
  if (this != &other) cert_ = crypto::share(other.cert_.get());
  return *this;
}

Result<Certificate> Certificate::from_der(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  crypto::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    crypto::clear_openssl_errors();
    return unexpected(ErrorKind::InvalidArgument, "not a DER X.509 certificate");
  }
  if (p != der.data() + der.size()) {
    return unexpected(ErrorKind::InvalidArgument, "trailing bytes after DER certificate");
  }
  return Certificate(std::move(cert));
}

core::Bytes Certificate::der() const {
  unsigned char* out = nullptr;
  int len = i2d_X509(cert_.get(), &out);
  if (len <= 0) {
    crypto::clear_openssl_errors();
    return {};
  }
  core::Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

std::string Certificate::pem() const {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) {
    crypto::clear_openssl_errors();
    return {};
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string Certificate::thumbprint_sha1() const {
  return core::hex_encode_upper(crypto::sha1(der()));
}

std::string Certificate::thumbprint_sha256() const {
  return core::hex_encode(crypto::sha256(der()));
}

std::string Certificate::x5t() const {
  return core::base64url_encode(crypto::sha1(der()));
}

std::string Certificate::x5t_s256() const {
  return core::base64url_encode(crypto::sha256(der()));
}

std::string Certificate::subject() const {
  return name_rfc2253(X509_get_subject_name(cert_.get()));
}

std::string Certificate::issuer() const {
  return name_rfc2253(X509_get_issuer_name(cert_.get()));
}

std::string Certificate::subject_cn() const {
  return last_cn(X509_get_subject_name(cert_.get()));
}

std::string Certificate::issuer_cn() const {
  return last_cn(X509_get_issuer_name(cert_.get()));
}

std::string Certificate::serial_hex() const {
  crypto::BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert_.get()), nullptr));
  if (!bn) {
    crypto::clear_openssl_errors();
    return {};
  }
  char* hex = BN_bn2hex(bn.get());  // upper-case, "0" for zero, "-" for negative
  if (hex == nullptr) return {};
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

SubjectAltNames Certificate::subject_alt_names() const {
  SubjectAltNames out;
  crypto::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    switch (gn->type) {
      case GEN_DNS:
        out.dns.push_back(ia5_to_string(gn->d.dNSName));
        break;
      case GEN_URI:
        out.uri.push_back(ia5_to_string(gn->d.uniformResourceIdentifier));
        break;
      case GEN_EMAIL:
        out.email.push_back(ia5_to_string(gn->d.rfc822Name));
        break;
      case GEN_IPADD:
        out.ip.push_back(ip_to_string(gn->d.iPAddress));
        break;
      default:
        break;  // otherName, dirName, ...: not used for identity here
    }
  }
  return out;
}

int64_t Certificate::not_before() const noexcept {
  return asn1_time_to_unix(X509_get0_notBefore(cert_.get()));
}

int64_t Certificate::not_after() const noexcept {
  return asn1_time_to_unix(X509_get0_notAfter(cert_.get()));
}

crypto::EvpPkeyPtr Certificate::public_key() const noexcept {
  return crypto::share(X509_get0_pubkey(cert_.get()));
}

bool Certificate::is_ca() const noexcept {
  return X509_check_ca(cert_.get()) == 1 &&
         (X509_get_extension_flags(cert_.get()) & EXFLAG_BCONS) != 0;
}

bool Certificate::is_self_issued() const noexcept {
  return X509_NAME_cmp(X509_get_subject_name(cert_.get()), X509_get_issuer_name(cert_.get())) == 0;
}

}  // namespace gh::x509
