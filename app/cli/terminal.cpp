// Secret input over POSIX termios, and the command-line programs' log lines on stderr.
#include "app/cli/terminal.h"

#include <cerrno>
#include <cstdlib>

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/wallet/errors.h"

namespace tessera::cli {
using wallet::SecureBytes;
using wallet::WalletError;

namespace {

constexpr std::size_t kMaxLine = 4096;
constexpr std::size_t kMinPasswordBytes = 8;

// Turns echo off on `fd` for its lifetime when `fd` is a terminal.
class EchoOff {
 public:
  explicit EchoOff(int fd, bool enable) : fd_(fd) {
    if (!enable || ::isatty(fd) == 0 || ::tcgetattr(fd, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    quiet.c_lflag |= ECHONL;
    active_ = ::tcsetattr(fd, TCSANOW, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// One line from `fd`, byte by byte, into secure memory; false at end of input before any byte.
bool read_line(int fd, SecureBytes& out) {
  SecureBytes buffer(kMaxLine);
  std::size_t size = 0;
  bool any = false;
  for (;;) {
    std::uint8_t byte = 0;
    const auto n = ::read(fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw WalletError("cannot read input");
    if (n == 0) break;
    any = true;
    if (byte == '\n') break;
    if (size == buffer.size()) throw WalletError("input line too long (more than 4096 bytes)");
    buffer.data()[size++] = byte;
  }
  if (size > 0 && buffer.data()[size - 1] == '\r') --size;
  out = SecureBytes::copy_of(buffer.span().first(size));
  return any;
}

SecureBytes ask(const std::string& prompt, bool hide) {
  const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0)
    throw WalletError("no terminal to ask on; for scripts pass --password-stdin and write the password as a line "
                      "on standard input");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{tty};
  [[maybe_unused]] const auto written = ::write(tty, prompt.data(), prompt.size());
  SecureBytes line;
  {
    EchoOff quiet(tty, hide);
    if (!read_line(tty, line)) throw WalletError("no answer on the terminal");
  }
  return line;
}

}  // namespace

void send_logs_to_stderr() {
  auto logger = spdlog::stderr_color_st("tessera-cli");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
}

void log_to_stderr() {
  static const auto logger = [] {
    auto created = spdlog::stderr_color_mt("tessera-node");
    spdlog::set_default_logger(created);
    if (const char* level = std::getenv("TESSERA_LOG")) spdlog::set_level(spdlog::level::from_str(level));
    return created;
  }();
  (void)logger;
}

SecureBytes StdinLines::next(const std::string& what) {
  EchoOff quiet(0, true);
  SecureBytes line;
  if (!read_line(0, line)) throw WalletError("expected " + what + " on standard input, found the end of input");
  return line;
}

SecureBytes ask_secret(const std::string& prompt) { return ask(prompt, true); }
SecureBytes ask_visible(const std::string& prompt) { return ask(prompt, false); }

SecureBytes PasswordSource::current(const std::string& prompt) {
  return from_stdin_ ? lines_.next("the password (one line)") : ask_secret(prompt + ": ");
}

SecureBytes PasswordSource::fresh(const std::string& prompt) {
  SecureBytes password = from_stdin_ ? lines_.next("the new password (one line)") : ask_secret(prompt + ": ");
  if (password.size() < kMinPasswordBytes)
    throw WalletError("choose a password of at least 8 characters (it protects the wallet if this computer is lost)");
  if (!from_stdin_) {
    const auto again = ask_secret("Repeat the password: ");
    if (!again.equals(password.span())) throw WalletError("the two passwords differ; nothing was changed, try again");
  }
  return password;
}

}  // namespace tessera::cli
