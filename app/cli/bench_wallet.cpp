// `tessera-node bench wallet [--json]`: keystore unlock at the default (MODERATE) Argon2id limits
// against the INTERACTIVE ones, address derivation from words against derivation from a seed, and
// Ed25519 signing against verification, each pair measured in the same run.
#include <chrono>
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include "app/cli/commands.h"
#include "app/cli/terminal.h"
#include "core/wallet/bip39.h"
#include "core/wallet/keystore.h"
#include "core/wallet/slip10.h"

namespace tessera::cli {
namespace fs = std::filesystem;
using namespace tessera::wallet;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Runs `work` until `budget` seconds have passed (at least `min_runs` times); returns runs per second.
template <typename Work>
double rate(double budget, int min_runs, Work&& work) {
  const auto start = Clock::now();
  long runs = 0;
  while (runs < min_runs || seconds_since(start) < budget) {
    work();
    ++runs;
  }
  return static_cast<double>(runs) / seconds_since(start);
}

// Mean seconds of one unlock at `limits` (the file is written first, untimed).
double unlock_seconds(const fs::path& folder, const char* name, const KdfLimits& limits, int runs) {
  const auto password = as_bytes("benchmark password");
  SecureBytes seed(64);
  const auto file = folder / name;
  Keystore::create_from_seed(file, seed.span(), DerivationPath::solana(0), password, limits);
  auto store = Keystore::open(file);
  double total = 0;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    store.unlock(password);
    total += seconds_since(start);
    store.lock();
  }
  return total / runs;
}

}  // namespace

void add_bench_wallet(CLI::App& bench) {
  struct Settings {
    bool json = false;
    int unlock_runs = 3;
    double seconds = 0.5;
  };
  auto s = std::make_shared<Settings>();
  auto* cmd = bench.add_subcommand("wallet", "Wallet: unlock at the default vs interactive Argon2id limits, derive and "
                                             "sign/verify rates");
  cmd->add_flag("--json", s->json, "Print one JSON object");
  cmd->add_option("--unlock-runs", s->unlock_runs, "Unlocks timed at each limit")->check(CLI::Range(1, 100))->capture_default_str();
  cmd->add_option("--seconds", s->seconds, "Time spent on each rate")->check(CLI::Range(0.05, 60.0))->capture_default_str();
  cmd->callback([s] {
    send_logs_to_stderr();
    spdlog::set_level(spdlog::level::warn);
    std::string pattern = (fs::temp_directory_path() / "tessera-bench-wallet-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    if (made == nullptr) throw std::runtime_error("cannot create a temporary folder in " + fs::temp_directory_path().string());
    const fs::path folder(made);
    struct Cleanup {
      fs::path folder;
      ~Cleanup() {
        std::error_code ec;
        fs::remove_all(folder, ec);
      }
    } cleanup{folder};

    const auto moderate = KdfLimits::moderate();
    const auto interactive = KdfLimits::interactive();
    const double moderate_s = unlock_seconds(folder, "moderate.json", moderate, s->unlock_runs);
    const double interactive_s = unlock_seconds(folder, "interactive.json", interactive, s->unlock_runs);

    const auto mnemonic = bip39::Mnemonic::generate(12);
    const auto sentence = mnemonic.sentence();
    const auto seed = mnemonic.to_seed({});
    const auto path = DerivationPath::solana(0);
    const double words_per_s = rate(s->seconds, 3, [&] {
      const auto parsed = bip39::Mnemonic::parse(sentence.span());
      const auto fresh = parsed.to_seed({});
      (void)derive_keypair(fresh.span(), path);
    });
    const double seed_per_s = rate(s->seconds, 3, [&] { (void)derive_keypair(seed.span(), path); });

    const auto key = derive_keypair(seed.span(), path);
    const auto message = as_bytes("receipt: run demo, step 1, micro-batch 1, 4096 tokens");
    const auto signature = key.sign(SignatureDomain::Receipt, message);
    const double sign_per_s = rate(s->seconds, 3, [&] { (void)key.sign(SignatureDomain::Receipt, message); });
    bool all_valid = true;
    const double verify_per_s = rate(s->seconds, 3, [&] {
      all_valid = verify(SignatureDomain::Receipt, message, signature, key.public_key()) && all_valid;
    });
    if (!all_valid) throw std::runtime_error("a signature failed to verify during the benchmark");

    const nlohmann::json report = {
        {"unlock",
         {{"default_limits", "moderate"},
          {"moderate_s", moderate_s},
          {"moderate_opslimit", moderate.opslimit},
          {"moderate_memlimit_mib", moderate.memlimit >> 20},
          {"interactive_s", interactive_s},
          {"interactive_opslimit", interactive.opslimit},
          {"interactive_memlimit_mib", interactive.memlimit >> 20},
          {"moderate_over_interactive", moderate_s / interactive_s},
          {"runs", s->unlock_runs}}},
        {"derive",
         {{"path", path.to_string()},
          {"words_to_address_per_s", words_per_s},
          {"seed_to_address_per_s", seed_per_s},
          {"seed_over_words", seed_per_s / words_per_s}}},
        {"sign",
         {{"sign_per_s", sign_per_s}, {"verify_per_s", verify_per_s}, {"sign_over_verify", sign_per_s / verify_per_s}}},
    };
    if (s->json) {
      std::cout << report.dump(2) << "\n";
      return;
    }
    std::cout << "Unlock (Argon2id, default MODERATE " << (moderate.memlimit >> 20) << " MiB): " << moderate_s
              << " s; INTERACTIVE " << (interactive.memlimit >> 20) << " MiB: " << interactive_s << " s ("
              << moderate_s / interactive_s << "x)\n";
    std::cout << "Derive " << path.to_string() << ": " << words_per_s << " /s from words (PBKDF2 2048 rounds), "
              << seed_per_s << " /s from a seed\n";
    std::cout << "Ed25519: " << sign_per_s << " signatures/s, " << verify_per_s << " verifications/s\n";
  });
}

}  // namespace tessera::cli
