#include "policy/document.h"

#include <gtest/gtest.h>

namespace gh::policy {
namespace {

TEST(PolicyDocument, ParsesElementsWithLinesAndSubstitutesNamedValues) {
  NamedValues nv{{"issuer", {"https://login.example/", false}}, {"key", {"s3cr3t", true}}};
  auto doc = parse_policy_document(
      "<policies>\n  <inbound>\n    <base />\n    <check-header name=\"X-Key\" "
      "failed-check-httpcode=\"401\"><value>{{key}}</value></check-header>\n"
      "    <set-header name=\"x-iss-{{issuer}}\" />\n  </inbound>\n</policies>\n",
      "api.xml", nv);
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->name, "policies");
  const Element* inbound = doc->child("inbound");
  ASSERT_NE(inbound, nullptr);
  EXPECT_EQ(inbound->line, 2);
  ASSERT_EQ(inbound->children.size(), 3u);
  EXPECT_EQ(inbound->children[0].name, "base");
  const Element& check = inbound->children[1];
  EXPECT_EQ(check.line, 4);
  EXPECT_EQ(check.where(), "api.xml:4");
  ASSERT_NE(check.child("value"), nullptr);
  EXPECT_EQ(check.child("value")->text, "s3cr3t");
  EXPECT_TRUE(check.child("value")->secret);
  EXPECT_FALSE(check.secret);
  EXPECT_EQ(*inbound->children[2].attribute("name"), "x-iss-https://login.example/");
}

TEST(PolicyDocument, NamedValuesAreNotNested) {
  NamedValues nv{{"a", {"{{b}}", false}}, {"b", {"x", false}}};
  auto doc = parse_policy_document("<policies><inbound v=\"{{a}}\"/></policies>", "f", nv);
  ASSERT_TRUE(doc);
  EXPECT_EQ(*doc->child("inbound")->attribute("v"), "{{b}}");
}

TEST(PolicyDocument, UndefinedNamedValueNamesFileAndLine) {
  auto doc = parse_policy_document("<policies>\n<inbound v=\"{{nope}}\"/></policies>", "p.xml", {});
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().message, "p.xml:2: named value 'nope' is not defined");
}

TEST(PolicyDocument, MalformedXmlNamesLine) {
  auto doc = parse_policy_document("<policies>\n<inbound>\n</policies>", "p.xml", {});
  ASSERT_FALSE(doc);
  EXPECT_NE(doc.error().message.find("p.xml:3: not well-formed XML"), std::string::npos)
      << doc.error().message;
}

TEST(PolicyDocument, RootMustBePolicies) {
  auto doc = parse_policy_document("<inbound/>", "p.xml", {});
  ASSERT_FALSE(doc);
  EXPECT_NE(doc.error().message.find("root element must be <policies>"), std::string::npos);
}

TEST(PolicyDocument, IncludesFragments) {
  Fragments fr{{"auth",
                "<fragment>\n<check-header name=\"a\"/>\n<set-header name=\"b\"/>\n"
                "</fragment>"}};
  auto doc = parse_policy_document(
      "<policies><inbound><base/><include-fragment fragment-id=\"auth\"/></inbound></policies>",
      "p.xml", {}, fr);
  ASSERT_TRUE(doc) << doc.error().message;
  const auto& in = doc->child("inbound")->children;
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(in[1].name, "check-header");
  EXPECT_EQ(in[1].file, "fragment 'auth'");
  EXPECT_EQ(in[1].line, 2);
  EXPECT_EQ(in[2].name, "set-header");

  auto missing = parse_policy_document(
      "<policies><inbound><include-fragment fragment-id=\"x\"/></inbound></policies>", "p.xml", {},
      fr);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("fragment 'x' is not defined"), std::string::npos);

  Fragments nested{{"outer", "<fragment><include-fragment fragment-id=\"auth\"/></fragment>"},
                   {"auth", "<fragment><base/></fragment>"}};
  auto n = parse_policy_document(
      "<policies><inbound><include-fragment fragment-id=\"outer\"/></inbound></policies>", "p.xml",
      {}, nested);
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message.find("cannot include another fragment"), std::string::npos);
}

TEST(AttributeReader, ReportsMissingUnknownAndBadValues) {
  auto doc = parse_policy_document(
      "<policies><x a=\"maybe\" n=\"12x\" extra=\"1\" id=\"p1\"/></policies>", "p.xml", {});
  ASSERT_TRUE(doc);
  const Element& x = doc->children[0];
  AttributeReader r(x);
  EXPECT_TRUE(r.boolean("a", true));
  EXPECT_EQ(r.integer("n", 5, 0, 100), 5);
  EXPECT_EQ(r.required("name"), nullptr);
  auto st = r.finish();
  ASSERT_FALSE(st);
  const std::string& m = st.error().message;
  EXPECT_NE(m.find("p.xml:1: <x>: attribute 'a' must be true or false, not 'maybe'"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("attribute 'n' must be an integer from 0 to 100"), std::string::npos);
  EXPECT_NE(m.find("missing required attribute 'name'"), std::string::npos);
  EXPECT_NE(m.find("unknown attribute 'extra'"), std::string::npos);
  EXPECT_EQ(m.find("'id'"), std::string::npos);
}

TEST(AttributeReader, NeverEchoesSecretValues) {
  NamedValues nv{{"k", {"hunter2", true}}};
  auto doc = parse_policy_document("<policies><x a=\"{{k}}\"/></policies>", "p.xml", nv);
  ASSERT_TRUE(doc);
  AttributeReader r(doc->children[0]);
  r.boolean("a", false);
  auto st = r.finish();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace gh::policy
