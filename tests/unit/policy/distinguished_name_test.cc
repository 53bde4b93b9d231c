#include "policy/distinguished_name.h"

#include <gtest/gtest.h>
#include <openssl/objects.h>

#include "support/test_pki.h"

namespace gh::policy {
namespace {

using NamePtr = crypto::X509NamePtr;

// Builds a name in DER order; `join` adds the attribute to the previous RDN (multi-valued).
struct NameBuilder {
  NamePtr name{X509_NAME_new()};
  NameBuilder& add(const char* type, const std::string& value, bool join = false) {
    if (X509_NAME_add_entry_by_txt(name.get(), type, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, join ? -1 : 0) != 1) {
      ADD_FAILURE() << "cannot add " << type;
    }
    return *this;
  }
};

bool matches(std::string_view pattern, const X509_NAME* name) {
  auto dn = DistinguishedName::parse(pattern);
  EXPECT_TRUE(dn) << pattern << ": " << dn.error().message;
  return dn && dn->matches(name);
}

TEST(DistinguishedName, ApimRfc4514AndSlashFormsOfTheSameName) {
  // DER order: C, O, OU, CN (shown most specific first by .NET and RFC 4514).
  NameBuilder b;
  b.add("C", "US").add("O", "Contoso").add("OU", "Payments").add("CN", "client1");
  for (const char* same : {
           "CN=client1, OU=Payments, O=Contoso, C=US",  // APIM / .NET
           "CN=client1,OU=Payments,O=Contoso,C=US",     // RFC 4514 / OpenSSL
           "cn=CLIENT1;ou=payments ; o=contoso;c=us",   // types and values ignore case
           "  CN = client1 ,  OU=Payments,O=Contoso,C=US  ",
           "CN=client1, OU=Payments, O=\"Contoso\", C=US",
           "/C=US/O=Contoso/OU=Payments/CN=client1",  // OpenSSL one-line, DER order
           "OID.2.5.4.3=client1, OU=Payments, O=Contoso, C=US",
           "2.5.4.3=client1, 2.5.4.11=Payments, O=Contoso, C=US",
           "commonName=client1, OU=Payments, O=Contoso, countryName=US",
       }) {
    EXPECT_TRUE(matches(same, b.name.get())) << same;
  }
  for (const char* other : {
           "C=US, O=Contoso, OU=Payments, CN=client1",  // DER order in the comma form
           "CN=client1, O=Contoso, C=US",               // an RDN missing
           "CN=client1, OU=Payments, O=Contoso, C=US, DC=extra",
           "CN=client, OU=Payments, O=Contoso, C=US",
           "CN=client1, OU=Payments, O=Contoso, L=US",
           "/CN=client1/OU=Payments/O=Contoso/C=US",
       }) {
    EXPECT_FALSE(matches(other, b.name.get())) << other;
  }
}

TEST(DistinguishedName, SpacesInsideValuesAreCollapsedNotIgnored) {
  NameBuilder b;
  b.add("O", "Gatehouse  Tests ").add("CN", "a b");
  EXPECT_TRUE(matches("CN=a b, O=Gatehouse Tests", b.name.get()));
  EXPECT_TRUE(matches("CN=A  B, O=gatehouse tests", b.name.get()));
  EXPECT_FALSE(matches("CN=ab, O=Gatehouse Tests", b.name.get()));
}

TEST(DistinguishedName, QuotingAndEscapes) {
  NameBuilder b;
  b.add("O", "Contoso, Inc.").add("CN", "Smith \"JJ\" + Co");
  for (const char* same : {
           "CN=\"Smith \"\"JJ\"\" + Co\", O=\"Contoso, Inc.\"",  // Windows: "" in quotes
           "CN=\"Smith \\\"JJ\\\" + Co\", O=\"Contoso, Inc.\"",  // RFC 1779: \" in quotes
           "CN=Smith \\\"JJ\\\" \\+ Co,O=Contoso\\, Inc.",       // RFC 4514 escapes
           "CN=Smith \\22JJ\\22 \\2B Co,O=Contoso\\2C Inc.",     // hex pairs
       }) {
    EXPECT_TRUE(matches(same, b.name.get())) << same;
  }
  NameBuilder utf8;
  utf8.add("CN", "Jos\xC3\xA9");
  EXPECT_TRUE(matches("CN=Jos\\C3\\A9", utf8.name.get()));
  EXPECT_TRUE(matches("CN=Jos\xC3\xA9", utf8.name.get()));
  EXPECT_FALSE(matches("CN=Jos\xC3\x89", utf8.name.get()));  // non-ASCII compares exactly
}

TEST(DistinguishedName, MultiValuedRdnsAreSets) {
  NameBuilder b;
  b.add("O", "Org").add("CN", "a").add("UID", "b", true);
  EXPECT_TRUE(matches("CN=a+UID=b, O=Org", b.name.get()));
  EXPECT_TRUE(matches("UID=b + CN=a, O=Org", b.name.get()));
  EXPECT_TRUE(matches("/O=Org/CN=a+UID=b", b.name.get()));
  EXPECT_FALSE(matches("CN=a, UID=b, O=Org", b.name.get()));
  EXPECT_FALSE(matches("CN=a+UID=c, O=Org", b.name.get()));
  EXPECT_FALSE(matches("CN=a, O=Org", b.name.get()));
}

TEST(DistinguishedName, AliasesAndUnknownOids) {
  NameBuilder b;
  b.add("ST", "WA").add("emailAddress", "a@b.example").add("1.2.3.4.5", "custom");
  EXPECT_TRUE(matches("OID.1.2.3.4.5=custom, E=a@b.example, S=WA", b.name.get()));
  EXPECT_TRUE(matches("1.2.3.4.5=CUSTOM, EMAIL=A@B.example, ST=wa", b.name.get()));
  EXPECT_FALSE(matches("1.2.3.4.6=custom, E=a@b.example, S=WA", b.name.get()));
}

TEST(DistinguishedName, MatchesTestPkiCertificates) {
  test::TestPki pki;
  const X509_NAME* subject = X509_get_subject_name(pki.client().cert.get());
  EXPECT_TRUE(matches("CN=client.test, O=Gatehouse Tests", subject));
  const X509_NAME* issuer = X509_get_issuer_name(pki.client().cert.get());
  EXPECT_TRUE(matches("CN=Gatehouse Test Issuing CA, O=Gatehouse Tests", issuer));
  EXPECT_FALSE(matches("CN=Gatehouse Test Root CA, O=Gatehouse Tests", issuer));
}

TEST(DistinguishedName, RejectsMalformedNames) {
  for (const char* bad : {
           "",
           "   ",
           "CN",
           "=x",
           "CN=a,",
           "CN=a,,O=b",
           "CN=\"open",
           "CN=\"a\"b, O=c",
           "CN=#0403",
           "XX=1",
           "CN=a\\",
           "CN=a\"b",
           "C N=x",
           "OID.1..2=x",
           "CN=a+",
           "/",
           "/CN=a/",
       }) {
    auto dn = DistinguishedName::parse(bad);
    EXPECT_FALSE(dn) << "'" << bad << "'";
    if (!dn) {
      EXPECT_EQ(dn.error().kind, ErrorKind::InvalidArgument);
    }
  }
  std::string many;
  for (int i = 0; i < 65; ++i)
    many += (i ? "," : "") + std::string("CN=x");
  EXPECT_FALSE(DistinguishedName::parse(many));
  EXPECT_TRUE(DistinguishedName::parse(many.substr(5)));  // 64
}

TEST(DistinguishedName, FoldingHelpers) {
  EXPECT_EQ(fold_name_value("  Hello   World  "), "hello world");
  EXPECT_TRUE(folded_equals("hello world", " HELLO  world "));
  EXPECT_FALSE(folded_equals("hello world", "helloworld"));
  EXPECT_FALSE(folded_equals("hello", "hello world"));
  EXPECT_TRUE(folded_equals("", "   "));
}

}  // namespace
}  // namespace gh::policy
