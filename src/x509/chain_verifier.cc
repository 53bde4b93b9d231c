#include "x509/chain_verifier.h"

#include <arpa/inet.h>

#include "crypto/openssl_error.h"

namespace gh::x509 {
namespace {

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

VerifyError map_openssl_verify_error(int err) noexcept {
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return VerifyError::Expired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return VerifyError::NotYetValid;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
      return VerifyError::Untrusted;
    case X509_V_ERR_CERT_REVOKED:
      return VerifyError::Revoked;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
      return VerifyError::NameMismatch;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
      return VerifyError::CrlMissing;
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return VerifyError::CrlStale;
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
      return VerifyError::CrlInvalid;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return VerifyError::BadSignature;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return VerifyError::InvalidCa;
    case X509_V_ERR_INVALID_PURPOSE:
      return VerifyError::WrongPurpose;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return VerifyError::ChainTooLong;
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_INVALID_NON_CA:
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
      return VerifyError::Malformed;
    default:
      return VerifyError::Other;
  }
}

Result<std::vector<Certificate>> verify_chain(const Certificate& leaf,
                                              std::span<const Certificate> intermediates,
                                              const TrustStore& trust, const core::Clock& clock,
                                              const VerifyOptions& options) {
  crypto::X509StackPtr untrusted(sk_X509_new_null());
  if (!untrusted) return unexpected(crypto::openssl_error("cannot allocate certificate stack"));
  for (const auto& c : intermediates) {
    crypto::X509Ptr ref = c.share();
    if (sk_X509_push(untrusted.get(), ref.get()) <= 0) {
      return unexpected(crypto::openssl_error("cannot build untrusted chain"));
    }
    ref.release();
  }
  crypto::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), trust.get(), leaf.get(), untrusted.get()) != 1) {
    return unexpected(crypto::openssl_error("cannot initialise verification"));
  }
  // The ctx owns a copy of the store's parameters, so this does not touch the shared store.
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(clock.now_unix()));
  X509_VERIFY_PARAM_set_depth(param, options.max_depth);
  unsigned long flags = 0;
  if (options.check_crl) {
    flags |= X509_V_FLAG_CRL_CHECK;
    if (options.crl_check_all) flags |= X509_V_FLAG_CRL_CHECK_ALL;
  }
  if (options.allow_partial_chain) flags |= X509_V_FLAG_PARTIAL_CHAIN;
  if (flags) X509_VERIFY_PARAM_set_flags(param, flags);
  if (options.purpose != 0 && X509_STORE_CTX_set_purpose(ctx.get(), options.purpose) != 1) {
    return unexpected(crypto::openssl_error("unknown verification purpose"));
  }
  if (!options.expected_host.empty()) {
    int ok = 0;
    if (is_ip_literal(options.expected_host)) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(param, options.expected_host.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok = X509_VERIFY_PARAM_set1_host(param, options.expected_host.data(),
                                       options.expected_host.size());
    }
    if (ok != 1) {
      crypto::clear_openssl_errors();
      return unexpected(ErrorKind::InvalidArgument, "invalid expected host name");
    }
  }

  const int rc = X509_verify_cert(ctx.get());
  if (rc != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const VerifyError code = map_openssl_verify_error(err);
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    X509* failing = X509_STORE_CTX_get_current_cert(ctx.get());
    std::string subject = failing ? Certificate(crypto::share(failing)).subject() : leaf.subject();
    std::string message = "certificate verification failed (" + std::string(to_string(code)) +
                          "): " + X509_verify_cert_error_string(err) + " for '" + subject +
                          "' at depth " + std::to_string(depth);
    if (code == VerifyError::NameMismatch) message += " (expected " + options.expected_host + ")";
    crypto::clear_openssl_errors();
    const ErrorKind kind = (code == VerifyError::Expired || code == VerifyError::NotYetValid)
                               ? ErrorKind::Expired
                               : ErrorKind::Unauthenticated;
    return unexpected(kind, std::move(message), static_cast<int>(code));
  }
  std::vector<Certificate> chain;
  STACK_OF(X509)* verified = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 0; i < sk_X509_num(verified); ++i) {
    chain.emplace_back(crypto::share(sk_X509_value(verified, i)));
  }
  return chain;
}

}  // namespace gh::x509
