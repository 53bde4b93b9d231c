#include "core/event_log.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

#include "core/json_escape.h"

namespace gh::core {

void log_event(std::string_view level, std::string_view message,
               std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string line = "{\"time\":\"";
  line += ts;
  line += "\",\"level\":\"";
  line += level;
  line += "\",\"msg\":\"";
  append_json_escaped(line, message);
  line += '"';
  for (const auto& [k, v] : fields) {
    line += ",\"";
    line += k;
    line += "\":\"";
    append_json_escaped(line, v);
    line += '"';
  }
  line += "}\n";
  // One write per line keeps lines whole when several threads log.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace gh::core
