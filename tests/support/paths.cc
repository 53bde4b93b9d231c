#include "support/paths.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace gh::test {

std::string source_path(const std::string& relative) {
  return std::string(GH_SOURCE_DIR) + "/" + relative;
}

std::string shared_path(const std::string& relative) {
  return source_path("../shared/" + relative);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace gh::test
