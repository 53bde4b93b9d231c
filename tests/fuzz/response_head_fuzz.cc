// Differential fuzzing of ResponseHeadParser against Beast's response parser: a backend's
// response, fed whole to Beast and in input-derived pieces (with input-derived body buffer sizes)
// to ours, must give the same verdict, status, reason, fields per name, body, keep-alive and
// chunked flags, and the same head written for the client.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../support/response_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static gh::http::ResponseHead head;  // reused across inputs, as across a connection's responses
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  uint64_t seed = 0x9e3779b97f4a7c15ULL ^ size;
  for (size_t i = 0; i < size && i < 16; ++i)
    seed = seed * 131 + data[i];
  if (seed == 0) seed = 1;
  auto next = [&seed] {  // xorshift: a crashing input reproduces its own splits
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  const auto beast = gh::test::parse_with_beast(raw);
  const auto ours = gh::test::parse_with_ours(
      raw, head, [&] { return 1 + next() % 97; }, [&] { return 1 + next() % 64; });
  if (beast.ok != ours.ok) __builtin_trap();
  if (gh::test::canonical(beast) != gh::test::canonical(ours)) __builtin_trap();
  return 0;
}
