#include "crypto/key.h"

#include <gtest/gtest.h>

namespace gh::crypto {
namespace {

TEST(Key, GeneratesAndRoundTripsThroughPem) {
  auto ec = generate_ec("P-256");
  ASSERT_TRUE(ec) << ec.error().message;
  EXPECT_EQ(key_type(ec->get()), KeyType::Ec);
  EXPECT_EQ(ec_curve_name(ec->get()), "P-256");
  auto pem = private_key_pem(ec->get());
  ASSERT_TRUE(pem);
  auto back = load_private_key(*pem);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(EVP_PKEY_eq(ec->get(), back->get()), 1);
  auto pub = public_key_pem(ec->get());
  ASSERT_TRUE(pub);
  auto pub_back = load_public_key(*pub);
  ASSERT_TRUE(pub_back);
  EXPECT_EQ(EVP_PKEY_eq(ec->get(), pub_back->get()), 1);
}

TEST(Key, RejectsGarbageWithoutEchoingIt) {
  auto r = load_private_key("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("c2VjcmV0"), std::string::npos);
  EXPECT_FALSE(generate_rsa(1024));
  EXPECT_FALSE(generate_ec("P-192"));
}

}  // namespace
}  // namespace gh::crypto
