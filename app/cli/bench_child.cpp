// Child processes of the benchmarks (bench_child.h).
#include "app/cli/bench_child.h"

#include <cstdio>

namespace tessera::cli {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

ChildOutput run_child_command(const std::string& command) {
  ChildOutput result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  while (const auto n = fread(buffer, 1, sizeof buffer, pipe)) result.out.append(buffer, n);
  result.status = pclose(pipe);
  return result;
}

}  // namespace tessera::cli
