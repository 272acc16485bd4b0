// Benchmarks that run parts of themselves in child processes (`bench swarm`, `bench engine
// --compare-backends`): quoting for the shell, and a child's standard output read whole.
#pragma once

#include <string>

namespace tessera::cli {

// `text` as one single-quoted shell word.
std::string shell_quote(const std::string& text);

struct ChildOutput {
  int status = -1;  // pclose's status: 0 when the command ran and exited 0
  std::string out;  // what it wrote to standard output
};
// Runs `command` with /bin/sh and reads its standard output to the end.
ChildOutput run_child_command(const std::string& command);

}  // namespace tessera::cli
