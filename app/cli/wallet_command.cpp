// `tessera-node wallet …`: create, restore, show, show-words, derive, export-keypair,
// import-keypair, change-password, sign, verify, delegate. Passwords come from the terminal (echo off) or, with
// --password-stdin, as lines on standard input; never from argv.
#include <chrono>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sodium.h>
#include <unistd.h>

#include "app/cli/commands.h"
#include "app/cli/global_options.h"
#include "app/cli/terminal.h"
#include "core/sys/paths.h"
#include "core/wallet/bip39.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"
#include "core/wallet/errors.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/keystore.h"
#include "core/wallet/secure_file.h"
#include "core/wallet/slip10.h"

namespace tessera::cli {
namespace fs = std::filesystem;
using namespace tessera::wallet;

namespace {

constexpr std::size_t kMaxMessageBytes = std::size_t{64} << 20;
constexpr const char* kDelegationFileName = "delegation.json";

struct PathChoice {
  std::optional<std::uint32_t> account;
  std::optional<std::string> path;

  DerivationPath resolve() const { return path ? DerivationPath::parse(*path) : DerivationPath::solana(account.value_or(0)); }
};

void add_path_options(CLI::App& command, PathChoice& choice) {
  auto* account = command.add_option("--account", choice.account,
                                     "Account number N: derive at m/44'/501'/N'/0' (default 0, as Phantom and Solflare)");
  auto* path = command.add_option("--path", choice.path, "Full derivation path instead, e.g. m/44'/501'/0'/0'");
  account->excludes(path);
}

fs::path keystore_file(const GlobalOptions& global) { return global.resolved_data_dir() / Keystore::kFileName; }

fs::path prepare_data_dir(const GlobalOptions& global) {
  const auto dir = global.resolved_data_dir();
  sys::ensure_data_dir(dir);
  return dir;
}

void refuse_existing_wallet(const fs::path& file) {
  std::error_code ec;
  if (fs::exists(file, ec))
    throw WalletError("a wallet already exists at " + file.string() +
                      "; it is never overwritten: move it away (after checking you have its words) to make another");
}

void print_word_grid(const bip39::Mnemonic& mnemonic) {
  for (std::size_t i = 0; i < mnemonic.word_count(); ++i) {
    std::cout << (i + 1 < 10 ? "   " : "  ") << i + 1 << ". " << mnemonic.word(i);
    const auto width = mnemonic.word(i).size();
    std::cout << std::string(width < 10 ? 10 - width : 1, ' ');
    if (i % 4 == 3) std::cout << "\n";
  }
  std::cout << "\n" << std::flush;
}

void print_words(const bip39::Mnemonic& mnemonic) {
  std::cout << "Write down these " << mnemonic.word_count()
            << " words, in order, on paper. They are the only way to restore this wallet, and anyone who sees "
               "them owns it. Tessera will never ask you for them.\n\n";
  print_word_grid(mnemonic);
}

// The typed word, trimmed and lowercased, equals the word at `position`.
bool word_matches(const SecureBytes& typed, std::string_view expected) {
  const auto words = bip39::split_words(typed.span());
  if (words.size() != 1 || words[0].size() != expected.size()) return false;
  SecureBytes lowered(expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    lowered.data()[i] = static_cast<std::uint8_t>(std::tolower(words[0][i]));
  return sodium_memcmp(lowered.data(), expected.data(), expected.size()) == 0;
}

void confirm_words(const bip39::Mnemonic& mnemonic, bool from_stdin, StdinLines& lines) {
  const auto n = static_cast<std::uint32_t>(mnemonic.word_count());
  std::uint32_t first = randombytes_uniform(n);
  std::uint32_t second = randombytes_uniform(n - 1);
  if (second >= first) ++second;
  if (second < first) std::swap(first, second);
  std::cerr << "To check your copy, type two of the words.\n";
  for (const auto position : {first, second}) {
    const auto prompt = "Word #" + std::to_string(position + 1);
    const auto typed = from_stdin ? lines.next(prompt) : ask_visible(prompt + ": ");
    if (!word_matches(typed, mnemonic.word(position)))
      throw WalletError(prompt + " does not match: no wallet was created; run `tessera-node wallet create` again "
                                 "and copy the new words carefully");
  }
}

void print_created(const Keystore& store) {
  std::cout << "Address:  " << store.address() << "\n";
  if (store.path()) std::cout << "Path:     " << store.path()->to_string() << "\n";
  std::cout << "Keystore: " << store.file().string() << "\n";
}

void add_create(CLI::App& wallet, const GlobalOptions& global) {
  struct Settings {
    std::size_t words = 12;
    PathChoice path;
    bool no_confirm = false;
    bool password_stdin = false;
  };
  auto s = std::make_shared<Settings>();
  auto* cmd = wallet.add_subcommand("create", "Create a new wallet: prints its words once, then encrypts it");
  cmd->add_option("--words", s->words, "Number of words")->check(CLI::IsMember({12, 24}))->capture_default_str();
  add_path_options(*cmd, s->path);
  cmd->add_flag("--no-confirm", s->no_confirm, "Do not ask to retype two of the words");
  cmd->add_flag("--password-stdin", s->password_stdin,
                "Read the password (then any confirmation words) as lines on standard input");
  cmd->callback([s, &global] {
    send_logs_to_stderr();
    const auto path = s->path.resolve();
    const auto file = prepare_data_dir(global) / Keystore::kFileName;
    refuse_existing_wallet(file);
    StdinLines lines;
    PasswordSource passwords(s->password_stdin, lines);
    const auto password = passwords.fresh("Choose a wallet password");
    const auto mnemonic = bip39::Mnemonic::generate(s->words);
    print_words(mnemonic);
    if (!s->no_confirm) confirm_words(mnemonic, s->password_stdin, lines);
    const auto store = Keystore::create_from_mnemonic(file, mnemonic, {}, path, password.span());
    print_created(store);
  });
}

void add_restore(CLI::App& wallet, const GlobalOptions& global) {
  struct Settings {
    PathChoice path;
    bool password_stdin = false;
    bool passphrase_stdin = false;
  };
  auto s = std::make_shared<Settings>();
  auto* cmd = wallet.add_subcommand(
      "restore", "Restore a wallet from its words, read from standard input (for a wallet made before words could be "
                 "shown again: lets it show them, after its current password)");
  add_path_options(*cmd, s->path);
  cmd->add_flag("--passphrase-stdin", s->passphrase_stdin,
                "Read a BIP-39 passphrase (the \"25th word\") as the line after the words");
  cmd->add_flag("--password-stdin", s->password_stdin, "Read the new wallet password as the next line on standard input");
  cmd->callback([s, &global] {
    send_logs_to_stderr();
    const auto path = s->path.resolve();
    const auto file = prepare_data_dir(global) / Keystore::kFileName;
    std::error_code ec;
    std::optional<Keystore> existing;
    if (fs::exists(file, ec)) {
      existing = Keystore::open(file);
      // Only a wallet without its words, restored from those same words, is upgraded in place.
      if (existing->words_availability() != WordsAvailability::SeedOnly) refuse_existing_wallet(file);
    }
    StdinLines lines;
    if (::isatty(0)) std::cerr << "Type your words, separated by spaces, then Enter (they are not shown):\n";
    const auto text = lines.next("the wallet's words (one line)");
    const auto mnemonic = bip39::Mnemonic::parse(text.span());
    const auto passphrase = s->passphrase_stdin ? lines.next("the passphrase (the line after the words)") : SecureBytes();
    PasswordSource passwords(s->password_stdin, lines);
    if (existing) {
      const auto seed = mnemonic.to_seed(passphrase.span());
      if (address_of(derive_keypair(seed.span(), *existing->path()).public_key()) != existing->address())
        refuse_existing_wallet(file);
      const auto password = passwords.current("Current wallet password for " + existing->address());
      existing->add_words(mnemonic, passphrase.span(), password.span());
      std::cout << "The wallet at " << file.string()
                << " now keeps its words (encrypted): `tessera-node wallet show-words` shows them after the "
                   "password.\n";
      print_created(*existing);
      return;
    }
    const auto password = passwords.fresh("Choose a wallet password");
    const auto store = Keystore::create_from_mnemonic(file, mnemonic, passphrase.span(), path, password.span());
    print_created(store);
  });
}

void add_show(CLI::App& wallet, const GlobalOptions& global) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = wallet.add_subcommand("show", "Show the wallet's address, derivation path and files (no password needed)");
  cmd->add_flag("--json", *json, "Print one JSON object");
  cmd->callback([json, &global] {
    send_logs_to_stderr();
    const auto store = Keystore::open(keystore_file(global));
    const auto node_file = global.resolved_data_dir() / kNodeKeyFileName;
    std::optional<std::string> node_key;
    std::error_code ec;
    if (fs::exists(node_file, ec)) node_key = address_of(read_solana_keypair_file(node_file).public_key());
    nlohmann::json out = {
        {"address", store.address()},
        {"kind", store.kind() == KeystoreKind::Bip39Seed ? "bip39-seed" : "ed25519-seed"},
        {"path", store.path() ? nlohmann::json(store.path()->to_string()) : nlohmann::json(nullptr)},
        {"account", store.account() ? nlohmann::json(*store.account()) : nlohmann::json(nullptr)},
        {"keystore", store.file().string()},
        {"keystore_version", store.version()},
        {"words", store.words_availability() == WordsAvailability::Stored ? nlohmann::json(*store.word_count())
                                                                           : nlohmann::json(nullptr)},
        {"node_key", node_key ? nlohmann::json(*node_key) : nlohmann::json(nullptr)},
        {"node_key_file", node_file.string()},
    };
    if (*json) {
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << "Address:  " << store.address() << "\n";
    std::cout << "Path:     " << (store.path() ? store.path()->to_string() : "(imported keypair, no path)") << "\n";
    std::cout << "Keystore: " << store.file().string() << " (version " << store.version() << ")\n";
    std::cout << "Words:    "
              << (store.words_availability() == WordsAvailability::Stored
                      ? std::to_string(*store.word_count()) + ", encrypted: `wallet show-words` shows them"
                      : store.words_availability() == WordsAvailability::ImportedKeypair
                            ? std::string("none (an imported keypair)")
                            : std::string("not kept (created before words could be shown again)"))
              << "\n";
    std::cout << "Node key: " << (node_key ? *node_key + " (" + node_file.string() + ")" : "not created yet") << "\n";
  });
}

void add_show_words(CLI::App& wallet, const GlobalOptions& global) {
  struct Settings {
    bool password_stdin = false;
    bool force = false;
  };
  auto s = std::make_shared<Settings>();
  auto* cmd = wallet.add_subcommand("show-words",
                                    "Show the wallet's words again after its password (a backup on paper); prints "
                                    "only to a terminal");
  cmd->add_flag("--password-stdin", s->password_stdin, "Read the password as a line on standard input");
  cmd->add_flag("--force", s->force,
                "Print the words even when standard output is not a terminal (a file or a pipe would keep them)");
  cmd->callback([s, &global] {
    send_logs_to_stderr();
    const auto store = Keystore::open(keystore_file(global));
    if (store.words_availability() != WordsAvailability::Stored) throw NoWordsStored(store.why_no_words());
    if (!s->force && ::isatty(1) == 0)
      throw WalletError("refusing to print the words to a file or a pipe: anything that stores them there owns the "
                        "wallet. Run this in a terminal and write them on paper, or add --force if you really mean it");
    StdinLines lines;
    PasswordSource passwords(s->password_stdin, lines);
    const auto password = passwords.current("Wallet password for " + store.address());
    const auto revealed = store.reveal_words(password.span());
    std::cout << "The " << revealed.mnemonic.word_count() << " words of " << store.address()
              << ", in order. Anyone who sees them owns the wallet: write them on paper, never in a file, a photo "
                 "or a message. Tessera will never ask you for them.\n\n";
    print_word_grid(revealed.mnemonic);
    if (store.path()) std::cout << "\nPath: " << store.path()->to_string() << "\n";
    if (revealed.needs_passphrase)
      std::cout << "\nThis wallet was restored with a BIP-39 passphrase: the words alone give another address. "
                   "Keep the passphrase with them.\n";
    std::cout << std::flush;
  });
}

void add_derive(CLI::App& wallet) {
  struct Settings {
    PathChoice path;
    bool passphrase_stdin = false;
  };
  auto s = std::make_shared<Settings>();
  auto* cmd = wallet.add_subcommand(
      "derive", "Print the address of the words on standard input (nothing is stored): the address Phantom, Solflare "
                "and Backpack show for them");
  add_path_options(*cmd, s->path);
  cmd->add_flag("--passphrase-stdin", s->passphrase_stdin, "Read a BIP-39 passphrase as the line after the words");
  cmd->callback([s] {
    send_logs_to_stderr();
    const auto path = s->path.resolve();
    StdinLines lines;
    if (::isatty(0)) std::cerr << "Type the words, separated by spaces, then Enter (they are not shown):\n";
    const auto text = lines.next("the wallet's words (one line)");
    const auto mnemonic = bip39::Mnemonic::parse(text.span());
    const auto passphrase = s->passphrase_stdin ? lines.next("the passphrase (the line after the words)") : SecureBytes();
    const auto seed = mnemonic.to_seed(passphrase.span());
    std::cout << address_of(derive_keypair(seed.span(), path).public_key()) << "\n";
  });
}

Keystore unlocked(const GlobalOptions& global, bool password_stdin, StdinLines& lines) {
  auto store = Keystore::open(keystore_file(global));
  PasswordSource passwords(password_stdin, lines);
  const auto password = passwords.current("Wallet password for " + store.address());
  store.unlock(password.span());
  return store;
}

void add_export(CLI::App& wallet, const GlobalOptions& global) {
  struct Settings {
    fs::path file;
    bool password_stdin = false;
  };
  auto s = std::make_shared<Settings>();
  auto* cmd = wallet.add_subcommand("export-keypair",
                                    "Write the owner key as a Solana keypair file (64 numbers; mode 0600)");
  cmd->add_option("FILE", s->file, "The file to write (never overwritten)")->required();
  cmd->add_flag("--password-stdin", s->password_stdin, "Read the password as a line on standard input");
  cmd->callback([s, &global] {
    send_logs_to_stderr();
    StdinLines lines;
    auto store = unlocked(global, s->password_stdin, lines);
    write_solana_keypair_file(s->file, store.owner_key());
    store.lock();
    std::cout << "Wrote the keypair of " << store.address() << " to " << s->file.string()
              << ". Anyone with this file controls the wallet: keep it offline or delete it after use.\n";
  });
}

void add_import(CLI::App& wallet, const GlobalOptions& global) {
  struct Settings {
    fs::path file;
    bool password_stdin = false;
  };
  auto s = std::make_shared<Settings>();
  auto* cmd = wallet.add_subcommand("import-keypair", "Make a Solana keypair file (solana-keygen) this node's wallet");
  cmd->add_option("FILE", s->file, "The keypair file: a JSON array of 64 numbers")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--password-stdin", s->password_stdin, "Read the new wallet password as a line on standard input");
  cmd->callback([s, &global] {
    send_logs_to_stderr();
    const auto file = prepare_data_dir(global) / Keystore::kFileName;
    refuse_existing_wallet(file);
    const auto key = read_solana_keypair_file(s->file);
    StdinLines lines;
    PasswordSource passwords(s->password_stdin, lines);
    const auto password = passwords.fresh("Choose a wallet password");
    const auto store = Keystore::create_from_keypair(file, key, password.span());
    print_created(store);
  });
}

void add_change_password(CLI::App& wallet, const GlobalOptions& global) {
  auto password_stdin = std::make_shared<bool>(false);
  auto* cmd = wallet.add_subcommand("change-password", "Encrypt the wallet under a new password");
  cmd->add_flag("--password-stdin", *password_stdin,
                "Read the current password, then the new one, as two lines on standard input");
  cmd->callback([password_stdin, &global] {
    send_logs_to_stderr();
    auto store = Keystore::open(keystore_file(global));
    StdinLines lines;
    PasswordSource passwords(*password_stdin, lines);
    const auto old_password = passwords.current("Current wallet password");
    store.unlock(old_password.span());  // a wrong password fails before a new one is asked
    const auto new_password = passwords.fresh("New wallet password");
    store.change_password(new_password.span());
    store.lock();
    std::cout << "Password changed for " << store.address() << "\n";
  });
}

void add_sign(CLI::App& wallet, const GlobalOptions& global) {
  struct Settings {
    fs::path file;
    bool password_stdin = false;
  };
  auto s = std::make_shared<Settings>();
  auto* cmd = wallet.add_subcommand("sign", "Sign a file's contents with the owner key; prints the base58 signature");
  cmd->add_option("FILE", s->file, "The message file")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--password-stdin", s->password_stdin, "Read the password as a line on standard input");
  cmd->callback([s, &global] {
    send_logs_to_stderr();
    const auto message = read_file_text(s->file, kMaxMessageBytes);
    StdinLines lines;
    auto store = unlocked(global, s->password_stdin, lines);
    const auto signature = store.owner_key().sign(SignatureDomain::Message, as_bytes(message));
    store.lock();
    std::cout << base58_encode(signature) << "\n";
  });
}

void add_verify(CLI::App& wallet, const GlobalOptions& global) {
  struct Settings {
    fs::path file;
    std::string signature;
    std::optional<std::string> address;
  };
  auto s = std::make_shared<Settings>();
  auto* cmd = wallet.add_subcommand("verify", "Check a signature made by `wallet sign`; exit status 1 if it is invalid");
  cmd->add_option("FILE", s->file, "The message file")->required()->check(CLI::ExistingFile);
  cmd->add_option("SIGNATURE", s->signature, "The base58 signature")->required();
  cmd->add_option("--address", s->address, "The signer's address (default: this wallet's)");
  cmd->callback([s, &global] {
    send_logs_to_stderr();
    const auto address = s->address ? *s->address : Keystore::open(keystore_file(global)).address();
    const auto public_key = parse_address(address);
    const auto bytes = base58_decode(s->signature);
    if (!bytes || bytes->size() != sizeof(Signature))
      throw WalletError("'" + s->signature + "' is not a signature (base58 of 64 bytes)");
    Signature signature{};
    std::copy(bytes->begin(), bytes->end(), signature.begin());
    const auto message = read_file_text(s->file, kMaxMessageBytes);
    if (!verify(SignatureDomain::Message, as_bytes(message), signature, public_key))
      throw WalletError("invalid signature: " + s->file.string() + " was not signed by " + address +
                        " (or it changed since)");
    std::cout << "valid signature by " << address << "\n";
  });
}

void add_delegate(CLI::App& wallet, const GlobalOptions& global) {
  struct Settings {
    std::string run = kAnyRun;
    double days = 30;
    bool password_stdin = false;
  };
  auto s = std::make_shared<Settings>();
  auto* cmd = wallet.add_subcommand(
      "delegate", "Let this machine's node key work for your wallet: the owner key signs a delegation, written to "
                  "delegation.json in the data folder");
  cmd->add_option("--run", s->run, "The run id, or * for any run")->capture_default_str();
  cmd->add_option("--days", s->days, "How long the delegation is valid")->check(CLI::Range(0.01, 3650.0))->capture_default_str();
  cmd->add_flag("--password-stdin", s->password_stdin, "Read the password as a line on standard input");
  cmd->callback([s, &global] {
    send_logs_to_stderr();
    const auto dir = prepare_data_dir(global);
    StdinLines lines;
    auto store = unlocked(global, s->password_stdin, lines);
    const auto node = load_or_create_node_key(dir / kNodeKeyFileName);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    const auto expires = now + static_cast<std::int64_t>(s->days * 86400);
    const auto delegation = sign_delegation(store.owner_key(), node.public_key(), s->run, expires);
    store.lock();
    const auto text = delegation.to_json().dump(2) + "\n";
    write_file_atomic(dir / kDelegationFileName, as_bytes(text));
    std::cout << text;
  });
}

}  // namespace

void add_wallet_command(CLI::App& app, const GlobalOptions& global) {
  auto* wallet = app.add_subcommand("wallet", "Your wallet (owner key): create, restore, show, sign, export");
  wallet->require_subcommand(1);
  add_create(*wallet, global);
  add_restore(*wallet, global);
  add_show(*wallet, global);
  add_show_words(*wallet, global);
  add_derive(*wallet);
  add_export(*wallet, global);
  add_import(*wallet, global);
  add_change_password(*wallet, global);
  add_sign(*wallet, global);
  add_verify(*wallet, global);
  add_delegate(*wallet, global);
}

}  // namespace tessera::cli
