// Receipt batches, their tally and the driver's step progress over cpp-httplib.
#include "core/hub/receipts_controller.h"

#include <httplib.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "core/hub/committed_work.h"
#include "core/hub/hub_store.h"
#include "core/hub/peer_directory.h"
#include "core/hub/request_verifier.h"
#include "core/hub/run_roster.h"
#include "core/hub/signed_request.h"
#include "core/net/http_json.h"
#include "core/protocol/manifest.h"
#include "core/protocol/work_units.h"
#include "core/hub/route_table.h"

namespace tessera::hub {
namespace {

std::size_t number_param(const httplib::Request& request, const char* name, std::size_t fallback) {
  if (!request.has_param(name)) return fallback;
  try {
    return std::stoul(request.get_param_value(name));
  } catch (const std::exception&) {
    throw std::invalid_argument(std::string(name) + " must be a number");
  }
}

}  // namespace

ReceiptsController::ReceiptsController(const protocol::RunManifest& manifest, const PeerDirectory& directory,
                                       const RunRoster& roster, const RequestVerifier& verifier, HubStore& store,
                                       CommittedWork& work, StepProgress& progress)
    : manifest_(manifest),
      directory_(directory),
      roster_(roster),
      verifier_(verifier),
      store_(store),
      work_(work),
      log_(store),
      progress_(progress) {}

nlohmann::json ReceiptsController::report(const wallet::PublicKey& sender, const nlohmann::json& body) {
  const auto& list = protocol::receipt_batch_items(body);
  const auto member = roster_.member(sender);
  if (!member) throw net::HttpError(403, "receipts refused: the sender is not a peer of this run");
  admit_or_refuse(gate_, sender, &member->owner);
  return credit(sender, *member, check(sender, list));
}

// Everything but the slot, with no lock held: the receipt decodes, is this run's, is for the
// sender's work, its receiver signed it and is a member.
ReceiptsController::CheckedBatch ReceiptsController::check(const wallet::PublicKey& sender,
                                                           const nlohmann::json& list) const {
  CheckedBatch batch;
  std::map<wallet::PublicKey, bool> receivers;  // a batch names few receivers
  protocol::ReceiptExpectation expected;
  expected.run_id = manifest_.run_id;
  expected.sender = sender;
  for (const auto& item : list) {
    std::optional<protocol::SignedReceipt> receipt;
    try {
      receipt = protocol::signed_receipt_from_json(item);
    } catch (const std::exception& error) {
      batch.refused.push_back({"malformed", error.what()});
      continue;
    }
    const auto& r = receipt->receipt;
    auto known = receivers.find(r.receiver);
    if (known == receivers.end()) known = receivers.emplace(r.receiver, roster_.member(r.receiver).has_value()).first;
    if (const auto mismatch = protocol::check_receipt(*receipt, expected))
      batch.refused.push_back({!verify_receipt(*receipt) ? "bad-signature"
                               : r.sender != sender    ? "not-the-slot"
                                                       : "malformed",
                               *mismatch});
    else if (!known->second)
      batch.refused.push_back({"not-a-member", "the receiver is not a member of this run"});
    else
      batch.checked.push_back(std::move(*receipt));
  }
  return batch;
}

nlohmann::json ReceiptsController::credit(const wallet::PublicKey& sender, const Member& member,
                                          const CheckedBatch& batch) {
  auto transaction = store_.begin();
  const auto answer = work_.report(transaction, sender, member.owner, batch.checked, batch.refused);
  transaction.commit();  // durable before the answer says so
  return answer.to_json();
}

void ReceiptsController::mount(RouteTable& routes) {
  namespace api = protocol::hub_api;
  routes.Post(api::kReceipts, [this](const httplib::Request& request, httplib::Response& response) {
    const auto batch = read_signed(verifier_, request, Replays::Harmless, net::EmptyBody::Refused);
    net::reply_json(response, 200, report(batch.sender, batch.body));
  });
  routes.Get(api::kReceiptSummary, [this](const httplib::Request&, httplib::Response& response) {
    net::reply_json(response, 200, protocol::to_json(tally()));
  });
  routes.Get(api::kReceipts, [this](const httplib::Request& request, httplib::Response& response) {
    const auto offset = std::min<std::size_t>(number_param(request, "offset", 0), std::numeric_limits<std::int64_t>::max());
    const auto limit = std::min<std::size_t>(number_param(request, "limit", 1000), 10000);
    auto list = nlohmann::json::array();
    for (const auto& receipt : log_.page(offset, limit)) list.push_back(protocol::to_json(receipt));
    net::reply_json(response, 200, {{"receipts", list}, {"total", tally().verified}});
  });
  routes.Post(api::kProgress, [this](const httplib::Request& request, httplib::Response& response) {
    const auto signed_request = read_signed(verifier_, request, Replays::Refused, net::EmptyBody::Refused);
    const auto peer = directory_.find(signed_request.sender);
    if (!peer || peer->stage != 0) throw net::HttpError(403, "only a stage-0 replica reports progress");
    progress_.add(protocol::progress_step(signed_request.body));
    net::reply_json(response, 200, {{"ok", true}});
  });
  routes.Get(api::kProgress, [this](const httplib::Request& request, httplib::Response& response) {
    const auto page = progress_.since(number_param(request, "since", 0), 1000);
    net::reply_json(response, 200, {{"steps", page.steps}, {"first", page.first}, {"total", page.total}});
  });
}

}  // namespace tessera::hub
