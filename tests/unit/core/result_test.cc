#include "core/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace gh::core {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return unexpected(ErrorKind::InvalidArgument, "not positive");
  return v;
}

Result<int> doubled(int v) {
  GH_TRY(int x, parse_positive(v));
  return x * 2;
}

Status check(int v) {
  GH_TRY_STATUS(Result<void>(v > 0 ? Result<void>() : unexpected(ErrorKind::NotFound, "x")));
  return {};
}

TEST(Result, PropagatesErrorsAndValues) {
  EXPECT_EQ(*doubled(4), 8);
  auto r = doubled(-1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(r.error().message, "not positive");
  EXPECT_TRUE(check(1));
  EXPECT_EQ(check(0).error().kind, ErrorKind::NotFound);
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r);
  auto p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(Error, WithContextPrefixes) {
  Error e{ErrorKind::Io, "boom"};
  EXPECT_EQ(e.with_context("file.yaml:3").message, "file.yaml:3: boom");
}

}  // namespace
}  // namespace gh::core
