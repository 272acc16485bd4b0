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

struct WalletBenchSettings {
  bool json = false;
  int unlock_runs = 3;
  double seconds = 0.5;
};

// A temporary folder for the keystores, removed with everything in it.
class TempFolder {
 public:
  TempFolder() {
    std::string pattern = (fs::temp_directory_path() / "tessera-bench-wallet-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    if (made == nullptr) throw std::runtime_error("cannot create a temporary folder in " + fs::temp_directory_path().string());
    path_ = made;
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Keystore unlock at the default (MODERATE) limits against the INTERACTIVE ones.
nlohmann::json bench_unlock(const WalletBenchSettings& s) {
  const TempFolder folder;
  const auto moderate = KdfLimits::moderate();
  const auto interactive = KdfLimits::interactive();
  const double moderate_s = unlock_seconds(folder.path(), "moderate.json", moderate, s.unlock_runs);
  const double interactive_s = unlock_seconds(folder.path(), "interactive.json", interactive, s.unlock_runs);
  return {{"default_limits", "moderate"},
          {"moderate_s", moderate_s},
          {"moderate_opslimit", moderate.opslimit},
          {"moderate_memlimit_mib", moderate.memlimit >> 20},
          {"interactive_s", interactive_s},
          {"interactive_opslimit", interactive.opslimit},
          {"interactive_memlimit_mib", interactive.memlimit >> 20},
          {"moderate_over_interactive", moderate_s / interactive_s},
          {"runs", s.unlock_runs}};
}

// Address derivation from the words (PBKDF2) against derivation from the seed, then Ed25519
// signing against verification with the derived key.
nlohmann::json bench_derive_and_sign(const WalletBenchSettings& s) {
  const auto mnemonic = bip39::Mnemonic::generate(12);
  const auto sentence = mnemonic.sentence();
  const auto seed = mnemonic.to_seed({});
  const auto path = DerivationPath::solana(0);
  const double words_per_s = rate(s.seconds, 3, [&] {
    const auto parsed = bip39::Mnemonic::parse(sentence.span());
    const auto fresh = parsed.to_seed({});
    (void)derive_keypair(fresh.span(), path);
  });
  const double seed_per_s = rate(s.seconds, 3, [&] { (void)derive_keypair(seed.span(), path); });

  const auto key = derive_keypair(seed.span(), path);
  const auto message = as_bytes("receipt: run demo, step 1, micro-batch 1, 4096 tokens");
  const auto signature = key.sign(SignatureDomain::Receipt, message);
  const double sign_per_s = rate(s.seconds, 3, [&] { (void)key.sign(SignatureDomain::Receipt, message); });
  bool all_valid = true;
  const double verify_per_s = rate(s.seconds, 3, [&] {
    all_valid = verify(SignatureDomain::Receipt, message, signature, key.public_key()) && all_valid;
  });
  if (!all_valid) throw std::runtime_error("a signature failed to verify during the benchmark");
  return {{"derive",
           {{"path", path.to_string()},
            {"words_to_address_per_s", words_per_s},
            {"seed_to_address_per_s", seed_per_s},
            {"seed_over_words", seed_per_s / words_per_s}}},
          {"sign",
           {{"sign_per_s", sign_per_s}, {"verify_per_s", verify_per_s}, {"sign_over_verify", sign_per_s / verify_per_s}}}};
}

void print_wallet_bench(const nlohmann::json& report) {
  const auto& unlock = report["unlock"];
  const auto& derive = report["derive"];
  const auto& sign = report["sign"];
  std::cout << "Unlock (Argon2id, default MODERATE " << unlock["moderate_memlimit_mib"].get<std::size_t>()
            << " MiB): " << unlock["moderate_s"].get<double>() << " s; INTERACTIVE "
            << unlock["interactive_memlimit_mib"].get<std::size_t>() << " MiB: " << unlock["interactive_s"].get<double>()
            << " s (" << unlock["moderate_over_interactive"].get<double>() << "x)\n";
  std::cout << "Derive " << derive["path"].get<std::string>() << ": " << derive["words_to_address_per_s"].get<double>()
            << " /s from words (PBKDF2 2048 rounds), " << derive["seed_to_address_per_s"].get<double>()
            << " /s from a seed\n";
  std::cout << "Ed25519: " << sign["sign_per_s"].get<double>() << " signatures/s, " << sign["verify_per_s"].get<double>()
            << " verifications/s\n";
}

}  // namespace

void add_bench_wallet(CLI::App& bench) {
  auto s = std::make_shared<WalletBenchSettings>();
  auto* cmd = bench.add_subcommand("wallet", "Wallet: unlock at the default vs interactive Argon2id limits, derive and "
                                             "sign/verify rates");
  cmd->add_flag("--json", s->json, "Print one JSON object");
  cmd->add_option("--unlock-runs", s->unlock_runs, "Unlocks timed at each limit")->check(CLI::Range(1, 100))->capture_default_str();
  cmd->add_option("--seconds", s->seconds, "Time spent on each rate")->check(CLI::Range(0.05, 60.0))->capture_default_str();
  cmd->callback([s] {
    send_logs_to_stderr();
    spdlog::set_level(spdlog::level::warn);
    nlohmann::json report{{"unlock", bench_unlock(*s)}};
    report.update(bench_derive_and_sign(*s));
    if (s->json)
      std::cout << report.dump(2) << "\n";
    else
      print_wallet_bench(report);
  });
}

}  // namespace tessera::cli
