// Terminal input for wallet commands: secrets (passwords, mnemonic words) read into SecureBytes
// from standard input (for scripts) or from the terminal with echo off, never via std::string or
// argv; and log lines sent to standard error so standard output carries only results.
#pragma once

#include <string>

#include "core/wallet/secure_bytes.h"

namespace tessera::cli {

// Routes spdlog's default logger to standard error.
void send_logs_to_stderr();
// The same for the node's commands (run, demo, bench swarm): the "tessera-node" logger, once per
// process, at the level TESSERA_LOG names (TESSERA_LOG=debug for more).
void log_to_stderr();

// Reads lines one at a time from file descriptor 0 (unbuffered, so each command takes exactly the
// lines it needs). When standard input is a terminal, echo is off while reading.
class StdinLines {
 public:
  // The next line without its line ending. Throws WalletError naming `what` at end of input.
  wallet::SecureBytes next(const std::string& what);
};

// Asks on the controlling terminal (/dev/tty) with echo off. Throws WalletError when there is no
// terminal, telling the user about --password-stdin.
wallet::SecureBytes ask_secret(const std::string& prompt);
// Asks on the terminal with echo on (confirmation words that were just shown).
wallet::SecureBytes ask_visible(const std::string& prompt);

// Where a command gets its passwords: standard input lines (--password-stdin) or the terminal.
class PasswordSource {
 public:
  PasswordSource(bool from_stdin, StdinLines& lines) : from_stdin_(from_stdin), lines_(lines) {}
  wallet::SecureBytes current(const std::string& prompt);
  // A new password: asked twice on the terminal; at least 8 bytes.
  wallet::SecureBytes fresh(const std::string& prompt);
  bool from_stdin() const { return from_stdin_; }

 private:
  bool from_stdin_;
  StdinLines& lines_;
};

}  // namespace tessera::cli
