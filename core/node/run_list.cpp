// runs.json read once, written atomically (see run_list.h).
#include "core/node/run_list.h"

#include <chrono>
#include <span>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/protocol/run_link.h"
#include "core/sys/bounded_json.h"
#include "core/wallet/secure_file.h"

namespace tessera::node {
namespace {

constexpr std::size_t kMaxFileBytes = 256 * 1024;
constexpr std::size_t kMaxLinkBytes = 1024;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The link's run id, or std::invalid_argument saying what is wrong with it.
std::string run_of(const std::string& link) {
  if (link.size() > kMaxLinkBytes)
    throw std::invalid_argument("a run link is at most " + std::to_string(kMaxLinkBytes) + " characters");
  if (!protocol::is_run_link(link))
    throw std::invalid_argument("\"" + link + "\" is not a run link: it starts with tessera:// (ask the run's publisher for it)");
  return protocol::parse_run_link(link).run_id;
}

std::vector<KnownRun> parse(const std::string& text) {
  const auto json = sys::parse_bounded_json(text, {kMaxFileBytes, 8}).value;
  if (!json || !json->is_array()) throw std::runtime_error("not a JSON array");
  std::vector<KnownRun> out;
  for (const auto& item : *json) {
    if (out.size() == RunList::kMaxRuns) break;
    if (!item.is_object() || !item.contains("link") || !item["link"].is_string())
      throw std::runtime_error("an entry without a \"link\"");
    KnownRun run;
    run.link = item["link"].get<std::string>();
    run.run = run_of(run.link);
    run.added_ms = item.value("added_ms", std::int64_t{0});
    out.push_back(std::move(run));
  }
  return out;
}

}  // namespace

RunList::RunList(std::filesystem::path data_dir) : file_(data_dir / kFileName) {
  if (!std::filesystem::exists(file_)) return;
  try {
    runs_ = parse(wallet::read_file_text(file_, kMaxFileBytes));
  } catch (const std::exception& error) {
    auto aside = file_;
    aside += ".damaged";
    std::error_code ignored;
    std::filesystem::rename(file_, aside, ignored);
    spdlog::warn("{} is not valid ({}): set aside as {}, starting with no runs", file_.string(), error.what(),
                 aside.string());
  }
}

std::vector<KnownRun> RunList::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

std::optional<KnownRun> RunList::find(const std::string& run) const {
  std::lock_guard lock(mutex_);
  for (const auto& known : runs_)
    if (known.run == run) return known;
  return std::nullopt;
}

KnownRun RunList::add(const std::string& link) {
  KnownRun added{link, run_of(link), now_ms()};
  std::lock_guard lock(mutex_);
  for (const auto& known : runs_) {
    if (known.link == link) return known;
    if (known.run == added.run)
      throw std::invalid_argument("a run named \"" + added.run + "\" is already in the list (" + known.link +
                                  "): remove it first");
  }
  if (runs_.size() >= kMaxRuns)
    throw std::invalid_argument("the list holds at most " + std::to_string(kMaxRuns) + " runs: remove one first");
  runs_.push_back(added);
  try {
    save();
  } catch (...) {
    runs_.pop_back();
    throw;
  }
  return added;
}

void RunList::remove(const std::string& run) {
  std::lock_guard lock(mutex_);
  const auto before = runs_;
  std::erase_if(runs_, [&](const KnownRun& known) { return known.run == run; });
  if (runs_.size() == before.size()) throw std::invalid_argument("no run \"" + run + "\" in the list");
  try {
    save();
  } catch (...) {
    runs_ = before;
    throw;
  }
}

void RunList::save() const {
  auto json = nlohmann::json::array();
  for (const auto& known : runs_) json.push_back({{"link", known.link}, {"added_ms", known.added_ms}});
  const auto text = json.dump(2) + "\n";
  wallet::write_file_atomic(file_, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), {},
                            wallet::IfExists::Replace);
}

}  // namespace tessera::node
