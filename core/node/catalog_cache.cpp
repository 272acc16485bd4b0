// Catalog fetches, bounded and validated, in parallel across hubs (see catalog_cache.h).
#include "core/node/catalog_cache.h"

#include <httplib.h>

#include <algorithm>
#include <future>

#include "core/client/hub_http.h"
#include "core/protocol/run_catalog.h"
#include "core/protocol/run_link.h"
#include "core/sys/bounded_json.h"

namespace tessera::node {
namespace {

constexpr const char* kCatalogPath = protocol::kRunCatalogPath;
constexpr std::size_t kMaxCatalogBytes = protocol::kMaxCatalogBytes;

// The body of GET /api/runs, at most kMaxCatalogBytes; throws what the endpoint throws.
nlohmann::json get_catalog(client::HubEndpoint& endpoint, std::chrono::milliseconds timeout) {
  const auto connection = endpoint.open(timeout);
  std::string body;
  bool too_long = false;
  const auto result = connection->http().Get(kCatalogPath, [&](const char* data, std::size_t size) {
    if (body.size() + size > kMaxCatalogBytes) return !(too_long = true);
    body.append(data, size);
    return true;
  });
  if (too_long) throw std::runtime_error("the hub's catalog is over " + std::to_string(kMaxCatalogBytes >> 20) + " MiB");
  if (!result && !connection->refusal().empty()) throw client::HubUntrusted(connection->refusal());
  if (!result)
    throw client::HubUnreachable("hub " + endpoint.url() + " did not answer " + kCatalogPath + " (" +
                                 httplib::to_string(result.error()) + ")");
  if (result->status == 404)
    throw std::runtime_error("hub " + endpoint.url() + " serves no catalog (an older tessera-hub)");
  if (result->status != 200)
    throw std::runtime_error("hub " + endpoint.url() + " answered " + kCatalogPath + " with HTTP " +
                             std::to_string(result->status));
  auto parsed = sys::parse_bounded_json(body, {kMaxCatalogBytes, 8});
  if (!parsed.value || !parsed.value->is_object() || !parsed.value->contains("runs") || !(*parsed.value)["runs"].is_array())
    throw std::runtime_error("hub " + endpoint.url() + " answered " + kCatalogPath + " with something that is not a catalog");
  return std::move(*parsed.value);
}

}  // namespace

CatalogCache::CatalogCache(std::chrono::milliseconds timeout, std::chrono::milliseconds fresh_for)
    : timeout_(timeout), fresh_for_(fresh_for) {}

CatalogCache::~CatalogCache() = default;

CatalogAnswer CatalogCache::fetch(const std::string& link, std::shared_ptr<client::HubEndpoint>& endpoint) const {
  CatalogAnswer answer;
  try {
    const auto run = protocol::parse_run_link(link).run_id;
    if (!endpoint) endpoint = std::make_shared<client::HubEndpoint>(link);
    if (!endpoint->trusted()) endpoint->establish(timeout_);
    const auto catalog = get_catalog(*endpoint, timeout_);
    for (const auto& entry : catalog["runs"])
      if (entry.is_object() && entry.value("run", std::string()) == run) {
        protocol::run_catalog_entry_from_json(entry);  // throws what is wrong with it
        answer.entry = entry;
        return answer;
      }
    answer.error = "the hub does not list run \"" + run + "\" any more";
  } catch (const std::exception& error) {
    endpoint.reset();  // contact it afresh next time (a restarted hub may have a new certificate)
    answer.error = error.what();
  }
  return answer;
}

std::vector<CatalogAnswer> CatalogCache::entries(const std::vector<std::string>& links) {
  std::vector<std::future<CatalogAnswer>> pending(links.size());
  std::vector<std::shared_ptr<client::HubEndpoint>> endpoints(links.size());
  std::vector<CatalogAnswer> out(links.size());
  {
    std::lock_guard lock(mutex_);
    std::erase_if(slots_, [&](const auto& slot) { return std::find(links.begin(), links.end(), slot.first) == links.end(); });
    const auto now = Clock::now();
    for (std::size_t i = 0; i < links.size(); ++i) {
      auto& slot = slots_[links[i]];
      if (slot.fetched != Clock::time_point{} && now - slot.fetched < fresh_for_) {
        out[i] = slot.answer;
        continue;
      }
      endpoints[i] = slot.endpoint;
      pending[i] = std::async(std::launch::async, [this, &link = links[i], &endpoint = endpoints[i]] {
        return fetch(link, endpoint);
      });
    }
  }
  for (std::size_t i = 0; i < links.size(); ++i) {
    if (!pending[i].valid()) continue;
    out[i] = pending[i].get();
    std::lock_guard lock(mutex_);
    auto& slot = slots_[links[i]];
    slot.endpoint = endpoints[i];
    slot.fetched = Clock::now();
    slot.answer = out[i];
  }
  return out;
}

protocol::RunManifest CatalogCache::verify(const std::string& link) {
  try {
    client::HubEndpoint endpoint(link);
    if (!endpoint.link()) throw std::invalid_argument("not a run link (tessera://host:port/<run>#<publisher key>)");
    return endpoint.establish(timeout_);
  } catch (const std::exception& error) {
    throw std::invalid_argument("cannot add " + link + ": " + error.what());
  }
}

}  // namespace tessera::node
