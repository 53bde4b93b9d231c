// References in place of file paths (core/references.h): which strings are references, how a
// registered resolver answers them, and what is remembered for metrics.

#include "core/references.h"

#include <gtest/gtest.h>

#include <map>

namespace gh::core {
namespace {

class MapResolver : public ReferenceResolver {
 public:
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> items;  // value, stamp
  Result<std::string> read(std::string_view reference) override {
    auto it = items.find(reference);
    if (it == items.end()) return unexpected(ErrorKind::NotFound, "no such item");
    return it->second.first;
  }
  std::string stamp(std::string_view reference) override {
    auto it = items.find(reference);
    return it == items.end() ? std::string{} : it->second.second;
  }
};

TEST(References, OnlySchemeColonNameQualifies) {
  EXPECT_TRUE(is_reference("vault:secrets/a"));
  EXPECT_TRUE(is_reference("vault:certificates/tls/0123"));
  EXPECT_FALSE(is_reference("/etc/tls/cert.pem"));
  EXPECT_FALSE(is_reference("cert.pem"));
  EXPECT_FALSE(is_reference("C:\\certs\\a.pem"));       // a drive letter is one character
  EXPECT_FALSE(is_reference("https://vault.example"));  // a URL is not a reference
  EXPECT_FALSE(is_reference("Vault:secrets/a"));        // schemes are lower case
  EXPECT_FALSE(is_reference("./vault:secrets/a"));
  EXPECT_FALSE(is_reference(""));
}

TEST(References, UnregisteredSchemeNamesTheMissingRole) {
  auto r = read_reference("nosuchrole:secrets/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::NotFound);
  EXPECT_NE(r.error().message.find("nosuchrole role"), std::string::npos) << r.error().message;
  EXPECT_EQ(reference_stamp("nosuchrole:secrets/x"), "");
}

TEST(References, RegisteredResolverAnswersAndItsStampIsRemembered) {
  auto resolver = std::make_shared<MapResolver>();
  resolver->items["secrets/a"] = {"value-1", "v1:1"};
  register_resolver("testvault", resolver);

  auto r = read_reference("testvault:secrets/a");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "value-1");
  EXPECT_EQ(reference_stamp("testvault:secrets/a"), "v1:1");

  bool seen = false;
  for (const auto& [ref, stamp] : resolved_references())
    if (ref == "testvault:secrets/a") {
      seen = true;
      EXPECT_EQ(stamp, "v1:1");
    }
  EXPECT_TRUE(seen);

  resolver->items["secrets/a"] = {"value-2", "v2:1"};
  EXPECT_EQ(reference_stamp("testvault:secrets/a"), "v2:1");
  EXPECT_EQ(*read_reference("testvault:secrets/a"), "value-2");

  auto missing = read_reference("testvault:secrets/b");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("testvault:secrets/b"), std::string::npos);

  register_resolver("testvault", nullptr);
  EXPECT_FALSE(read_reference("testvault:secrets/a"));
}

}  // namespace
}  // namespace gh::core
