#pragma once

// TestPki: an in-memory PKI for tests of every layer, built directly with OpenSSL (not with
// gh::x509, so x509 tests check the library against an independent producer).
//
//   root ("Gatehouse Test Root CA", self-signed)
//   └── intermediate ("Gatehouse Test Issuing CA", pathlen 0)
//       ├── leaf          CN=leaf.test, DNS leaf.test + *.wild.test, IP 127.0.0.1, serverAuth
//       ├── client        CN=client.test, URI spiffe://test/client, email, clientAuth
//       ├── expired       validity ended 1 day before now()
//       ├── not_yet_valid validity starts 1 day after now()
//       ├── revoked       listed in crl_pem()
//       └── ocsp_responder  id-kp-OCSPSigning, for delegated OCSP responses
//   other_root ("Untrusted Root CA") └── untrusted_leaf
//
// All keys are EC P-256 (fast to generate) unless TestCertOptions::key_type says otherwise. Times
// are relative to now(), a fixed instant.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/encoding.h"
#include "crypto/ossl_ptr.h"

namespace gh::test {

/// A Clock fixed at a settable instant.
class FixedClock final : public core::Clock {
 public:
  explicit FixedClock(int64_t unix_seconds) : now_(unix_seconds) {}
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(now_));
  }
  void set(int64_t unix_seconds) noexcept { now_ = unix_seconds; }
  void advance(int64_t seconds) noexcept { now_ += seconds; }

 private:
  int64_t now_;
};

/// A certificate with its private key.
struct TestCert {
  crypto::X509Ptr cert;
  crypto::EvpPkeyPtr key;

  std::string cert_pem() const;
  /// Unencrypted PKCS#8 PEM of the key (test keys only).
  std::string key_pem() const;
  core::Bytes der() const;
};

/// Key algorithm of a certificate made by TestPki::issue().
enum class TestKeyType { Ec256, Rsa2048, Ed25519 };

/// What to put into a certificate made by TestPki::issue().
struct TestCertOptions {
  std::string cn = {};
  std::vector<std::string> dns = {};
  std::vector<std::string> ips = {};
  std::vector<std::string> uris = {};
  std::vector<std::string> emails = {};
  int64_t not_before = 0;  // unix seconds; 0 = now() - 1 hour
  int64_t not_after = 0;   // unix seconds; 0 = now() + 30 days
  bool is_ca = false;
  int path_len = -1;               // CA only; -1 = no pathLenConstraint
  std::string ext_key_usage = {};  // OpenSSL syntax, e.g. "serverAuth,clientAuth", "OCSPSigning"
  long serial = 0;                 // 0 = next sequential serial
  TestKeyType key_type = TestKeyType::Ec256;
};

/// OCSP answer kinds for make_ocsp_response().
enum class TestOcspStatus { Good, Revoked, Unknown };

class TestPki {
 public:
  /// The fixed "now" of the default PKI: 2025-06-15T14:13:20Z.
  static constexpr int64_t kDefaultNow = 1'750'000'000;

  /// Builds the whole hierarchy around `now`. Aborts the test binary if OpenSSL fails.
  explicit TestPki(int64_t now = kDefaultNow);

  int64_t now() const noexcept { return now_; }
  const TestCert& root() const noexcept { return root_; }
  const TestCert& intermediate() const noexcept { return intermediate_; }
  const TestCert& leaf() const noexcept { return leaf_; }
  const TestCert& client() const noexcept { return client_; }
  const TestCert& expired() const noexcept { return expired_; }
  const TestCert& not_yet_valid() const noexcept { return not_yet_valid_; }
  const TestCert& revoked() const noexcept { return revoked_; }
  const TestCert& ocsp_responder() const noexcept { return ocsp_responder_; }
  const TestCert& other_root() const noexcept { return other_root_; }
  const TestCert& untrusted_leaf() const noexcept { return untrusted_leaf_; }

  /// Issues a certificate signed by `issuer` (or self-signed when issuer is null).
  TestCert issue(const TestCert* issuer, const TestCertOptions& options);

  /// A PEM CRL signed by `issuer` listing `revoked` (revoked at now() - 1 hour).
  std::string make_crl(const TestCert& issuer, const std::vector<const TestCert*>& revoked,
                       int64_t this_update, int64_t next_update) const;
  /// The intermediate's CRL (revoking revoked()) followed by the root's empty CRL, valid from
  /// now() - 1 hour to now() + 7 days: enough for CRL_CHECK_ALL.
  std::string crl_pem() const;

  /// DER PKCS#12 of `cert` with its key and `chain`, protected by `password`.
  core::Bytes make_pkcs12(const TestCert& cert, const std::vector<const TestCert*>& chain,
                          const std::string& password) const;

  /// DER OCSPResponse about `subject` (issued by `issuer`) signed by `signer`.
  core::Bytes make_ocsp_response(const TestCert& subject, const TestCert& issuer,
                                 const TestCert& signer, TestOcspStatus status, int64_t this_update,
                                 int64_t next_update) const;

 private:
  int64_t now_;
  long next_serial_ = 1000;
  TestCert root_, intermediate_, leaf_, client_, expired_, not_yet_valid_, revoked_,
      ocsp_responder_, other_root_, untrusted_leaf_;
};

/// Paths of a PKI written to disk for process-level tests (servers, clients, CLI).
struct TestPkiFiles {
  std::string dir;          // the directory holding all files
  std::string ca_cert;      // root CA certificate (trust anchor), PEM
  std::string server_cert;  // CN=localhost, DNS localhost, IP 127.0.0.1 and ::1, PEM
  std::string server_key;   // its PKCS#8 key, PEM (mode 0600)
  std::string client_cert;  // CN=client.test, URI spiffe://test/client, PEM
  std::string client_key;   // its key, PEM (mode 0600)
};

/// Creates a fresh temporary directory (under $TMPDIR or /tmp) holding a CA, a server
/// certificate for localhost/127.0.0.1/::1 and a client certificate, all issued directly by
/// the CA and valid from 1 hour ago for 30 days of real time. The caller removes `dir`.
TestPkiFiles write_test_pki_files();

}  // namespace gh::test
