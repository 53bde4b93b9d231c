#include "gateway/policy_run.h"

#include <gtest/gtest.h>

#include <array>

namespace gh::gateway {
namespace {

using A = policy::FieldChange::Action;

TEST(FieldEdits, OverrideAppendSkipDeleteAndRepeatedHeaders) {
  std::array<policy::HeaderField, 3> original{
      {{"Accept", "a"}, {"X-Multi", "1"}, {"Set-Cookie", "s=1"}}};
  std::vector<policy::FieldChange> changes{
      {"x-multi", {"2"}, A::Append},
      {"Accept", {"b"}, A::Skip},
      {"New", {"n1", "n2"}, A::Override},
      {"Set-Cookie", {"t=2"}, A::Append},
      {"Gone", {}, A::Delete},
  };
  std::vector<std::string_view> drop{"already-stripped"};
  std::string extra;
  field_edits(original, changes, drop, extra);
  EXPECT_EQ(extra,
            "x-multi: 1,2\r\nAccept: a\r\nNew: n1,n2\r\nSet-Cookie: s=1\r\nSet-Cookie: "
            "t=2\r\n");
  ASSERT_EQ(drop.size(), 6u);
  EXPECT_EQ(drop[0], "already-stripped");
  EXPECT_EQ(drop[5], "Gone");
}

TEST(FieldEdits, ValuesWithLineBreaksAreNeverWritten) {
  std::vector<policy::FieldChange> changes{{"X-Bad", {"a\r\nInjected: 1"}, A::Override}};
  std::vector<std::string_view> drop;
  std::string extra;
  field_edits({}, changes, drop, extra);
  EXPECT_EQ(extra.find("Injected"), std::string::npos);
}

TEST(QueryChanges, RewriteOnlyTheChangedParameters) {
  std::vector<policy::FieldChange> changes{{"b", {"x y&z"}, A::Override},
                                           {"c", {}, A::Delete},
                                           {"d", {"1"}, A::Append},
                                           {"a", {"ignored"}, A::Skip}};
  // Unchanged parameters keep their place; changed ones follow, in the order first changed.
  EXPECT_EQ(apply_query_changes("/p?a=1&b=2&c=3&e=%20", changes), "/p?e=%20&b=x%20y%26z&d=1&a=1");
  EXPECT_EQ(apply_query_changes("/p", {}), "/p");
  std::vector<policy::FieldChange> del{{"only", {}, A::Delete}};
  EXPECT_EQ(apply_query_changes("/p?only=1", del), "/p");
}

TEST(GatewayResponse, SerializesWithChangesAndWithoutBodyForHead) {
  policy::RequestContext ctx(core::SystemClock::instance());
  ctx.fail("check-header", "HeaderNotFound", "Header X was not found in the request.", 401,
           "Denied");
  ctx.response_header_changes.push_back({"X-Extra", {"1"}, A::Override});
  std::string bytes = gateway_response_bytes(ctx, "rid-1", true, false);
  EXPECT_EQ(bytes,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nX-Extra: 1\r\n"
            "Content-Length: 42\r\nX-Request-Id: rid-1\r\nConnection: close\r\n\r\n"
            "{ \"statusCode\": 401, \"message\": \"Denied\" }");
  std::string head = gateway_response_bytes(ctx, "rid-1", false, true);
  EXPECT_TRUE(head.ends_with("X-Request-Id: rid-1\r\n\r\n")) << head;
}

}  // namespace
}  // namespace gh::gateway
