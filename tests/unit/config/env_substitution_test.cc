#include "config/env_substitution.h"

#include <gtest/gtest.h>

namespace gh::config {
namespace {

Environment env() {
  return fixed_environment({{"HOST", "10.0.0.1"}, {"EMPTY", ""}, {"TWO", "a\nb"}});
}

TEST(EnvSubstitution, ReplacesSetVariable) {
  auto out = substitute_environment("address: ${HOST}:80\n", "f.yaml", env());
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->text, "address: 10.0.0.1:80\n");
  EXPECT_TRUE(out->is_substituted(0));
  EXPECT_FALSE(out->is_substituted(1));
}

TEST(EnvSubstitution, DefaultUsedWhenUnsetOrEmpty) {
  auto out =
      substitute_environment("a: ${NOPE:-x:1}\nb: ${EMPTY:-d}\nc: ${HOST:-d}\n", "f.yaml", env());
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->text, "a: x:1\nb: d\nc: 10.0.0.1\n");
}

TEST(EnvSubstitution, EmptyDefaultAndEmptyValueAreAllowed) {
  auto out = substitute_environment("a: '${NOPE:-}'\nb: '${EMPTY}'", "f.yaml", env());
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->text, "a: ''\nb: ''");
}

TEST(EnvSubstitution, UnsetWithoutDefaultNamesFileLineAndVariable) {
  auto out = substitute_environment("a: 1\n\nb: ${MISSING}\n", "conf.yaml", env());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(out.error().message.find("conf.yaml:3: environment variable 'MISSING' is not set"),
            std::string::npos)
      << out.error().message;
}

TEST(EnvSubstitution, ReportsEveryUnsetVariable) {
  auto out = substitute_environment("a: ${A1}\nb: ${B2}\n", "f.yaml", env());
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("f.yaml:1: environment variable 'A1'"), std::string::npos);
  EXPECT_NE(out.error().message.find("f.yaml:2: environment variable 'B2'"), std::string::npos);
}

TEST(EnvSubstitution, DoubleDollarIsALiteral) {
  auto out = substitute_environment("a: $${HOST} $$ $x ${HOST}", "f.yaml", env());
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->text, "a: ${HOST} $$ $x 10.0.0.1");
  // A literal alone does not make the line "substituted" for error-message purposes.
  auto literal = substitute_environment("a: $${SECRET}", "f.yaml", env());
  ASSERT_TRUE(literal);
  EXPECT_EQ(literal->text, "a: ${SECRET}");
  EXPECT_FALSE(literal->is_substituted(0));
}

TEST(EnvSubstitution, MalformedReferencesFail) {
  for (const char* text : {"a: ${HOST", "a: ${}", "a: ${1X}", "a: ${HO-ST}", "a: ${X:?err}"}) {
    auto out = substitute_environment(text, "f.yaml", env());
    ASSERT_FALSE(out) << text;
    EXPECT_EQ(out.error().message.rfind("f.yaml:1: ", 0), 0u) << out.error().message;
  }
}

TEST(EnvSubstitution, CommentsAreNotSubstituted) {
  auto out = substitute_environment("# uses ${UNSET}\na: 1  # or ${UNSET}\nb: '#${HOST}'\n",
                                    "f.yaml", env());
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->text, "# uses ${UNSET}\na: 1  # or ${UNSET}\nb: '#10.0.0.1'\n");
}

TEST(EnvSubstitution, MultiLineValueKeepsOriginalLineNumbers) {
  auto out = substitute_environment("a: 1\nb: \"${TWO}\"\nc: 3\n", "f.yaml", env());
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->text, "a: 1\nb: \"a\nb\"\nc: 3\n");
  EXPECT_EQ(out->original_line(0), 1);
  EXPECT_EQ(out->original_line(1), 2);
  EXPECT_EQ(out->original_line(2), 2);  // the value's second line still belongs to line 2
  EXPECT_EQ(out->original_line(3), 3);
  EXPECT_TRUE(out->is_substituted(2));
  EXPECT_FALSE(out->is_substituted(3));
}

TEST(EnvSubstitution, ValuesNeverAppearInErrors) {
  auto out = substitute_environment("a: ${HOST} ${MISSING}\n", "f.yaml", env());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message.find("10.0.0.1"), std::string::npos);
}

}  // namespace
}  // namespace gh::config
