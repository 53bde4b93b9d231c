#include <gtest/gtest.h>

#include "core/clock.h"
#include "crypto/key.h"
#include "x509/cert_builder.h"

namespace gh::x509 {
namespace {

TEST(MakeIssued, LeafIsSignedByTheIssuerAndNamesIt) {
  auto ca_key = crypto::generate_ec("P-256");
  ASSERT_TRUE(ca_key);
  CertSpec ca_spec{"CN=Test CA", {}, 30, true};
  auto ca = make_self_signed(ca_key->get(), ca_spec, core::SystemClock::instance());
  ASSERT_TRUE(ca) << ca.error().message;

  auto leaf_key = crypto::generate_ec("P-256");
  ASSERT_TRUE(leaf_key);
  CertSpec leaf_spec{"CN=localhost", {}, 10, false};
  leaf_spec.sans.dns.push_back("localhost");
  auto leaf =
      make_issued(leaf_key->get(), leaf_spec, *ca, ca_key->get(), core::SystemClock::instance());
  ASSERT_TRUE(leaf) << leaf.error().message;
  EXPECT_EQ(X509_verify(leaf->get(), ca_key->get()), 1);
  EXPECT_NE(X509_verify(leaf->get(), leaf_key->get()), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(leaf->get()), X509_get_subject_name(ca->get())), 0);
  EXPECT_EQ(X509_check_issued(ca->get(), leaf->get()), X509_V_OK);
}

TEST(MakeIssued, RejectsAnIssuerKeyThatDoesNotMatch) {
  auto ca_key = crypto::generate_ec("P-256");
  auto other = crypto::generate_ec("P-256");
  ASSERT_TRUE(ca_key && other);
  auto ca = make_self_signed(ca_key->get(), {"CN=CA", {}, 30, true}, core::SystemClock::instance());
  ASSERT_TRUE(ca);
  auto leaf = make_issued(other->get(), {"CN=x", {}, 1, false}, *ca, other->get(),
                          core::SystemClock::instance());
  EXPECT_FALSE(leaf);
}

}  // namespace
}  // namespace gh::x509
