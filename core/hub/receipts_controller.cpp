// Receipt batches, their tally and the driver's step progress over cpp-httplib.
#include "core/hub/receipts_controller.h"

#include <httplib.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "core/hub/hub_store.h"
#include "core/hub/peer_directory.h"
#include "core/hub/request_verifier.h"
#include "core/hub/run_roster.h"
#include "core/hub/settlement_book.h"
#include "core/hub/signed_request.h"
#include "core/net/http_json.h"
#include "core/protocol/manifest.h"
#include "core/protocol/work_units.h"

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
                                       SettlementBook* book)
    : manifest_(manifest),
      directory_(directory),
      roster_(roster),
      verifier_(verifier),
      store_(store),
      book_(book),
      log_(store) {}

nlohmann::json ReceiptsController::report(const wallet::PublicKey& sender, const nlohmann::json& body) {
  const auto& list = protocol::receipt_batch_items(body);
  const auto member = roster_.member(sender);
  if (!member) throw net::HttpError(403, "receipts refused: the sender is not a peer of this run");
  admit_or_refuse(gate_, sender, &member->owner);
  return credit(check(sender, *member, list));
}

ReceiptsController::CheckedBatch ReceiptsController::check(const wallet::PublicKey& sender, const Member& member,
                                                           const nlohmann::json& list) const {
  CheckedBatch batch;
  std::map<wallet::PublicKey, std::optional<int>> receiver_stages;  // a batch names few receivers
  protocol::ReceiptExpectation expected;
  expected.run_id = manifest_.run_id;
  expected.sender = sender;
  for (const auto& item : list) {
    try {
      auto receipt = protocol::signed_receipt_from_json(item);
      const auto& r = receipt.receipt;
      auto found = receiver_stages.find(r.receiver);
      if (found == receiver_stages.end()) found = receiver_stages.emplace(r.receiver, roster_.stage_of(r.receiver)).first;
      const int neighbour = r.direction == protocol::Direction::Forward ? r.stage + 1 : r.stage - 1;
      if (const auto mismatch = protocol::check_receipt(receipt, expected)) batch.rejected.push_back(*mismatch);
      else if (!found->second) batch.rejected.push_back("the receiver is not a peer of this run");
      else if (member.stage != r.stage || *found->second != neighbour)
        batch.rejected.push_back("sender and receiver are not neighbouring stages");
      else {
        const double flops = protocol::receipt_flops(manifest_.model, manifest_.stages, r.direction, r.stage, r.tokens);
        batch.verified.push_back({std::move(receipt), member.owner, flops});
      }
    } catch (const std::exception& error) {
      batch.rejected.push_back(error.what());
    }
  }
  return batch;
}

nlohmann::json ReceiptsController::credit(const CheckedBatch& batch) {
  std::uint64_t accepted = 0;
  double flops = 0;
  auto transaction = store_.begin();
  const auto fresh = log_.record(transaction, batch.verified, batch.rejected.size());
  for (std::size_t i = 0; i < fresh.size(); ++i)
    if (fresh[i]) {
      ++accepted;
      flops += batch.verified[i].flops;
    }
  if (book_ && accepted > 0) book_->credit_work(transaction, batch.verified.front().owner, flops);
  transaction.commit();  // durable before the answer says so
  return {{"accepted", accepted}, {"duplicates", batch.verified.size() - accepted}, {"rejected", batch.rejected}};
}

void ReceiptsController::mount(httplib::Server& server) {
  namespace api = protocol::hub_api;
  server.Post(api::kReceipts, [this](const httplib::Request& request, httplib::Response& response) {
    const auto batch = read_signed(verifier_, request, Replays::Harmless, net::EmptyBody::Refused);
    net::reply_json(response, 200, report(batch.sender, batch.body));
  });
  server.Get(api::kReceiptSummary, [this](const httplib::Request&, httplib::Response& response) {
    net::reply_json(response, 200, protocol::to_json(tally()));
  });
  server.Get(api::kReceipts, [this](const httplib::Request& request, httplib::Response& response) {
    const auto offset = std::min<std::size_t>(number_param(request, "offset", 0), std::numeric_limits<std::int64_t>::max());
    const auto limit = std::min<std::size_t>(number_param(request, "limit", 1000), 10000);
    auto list = nlohmann::json::array();
    for (const auto& receipt : log_.page(offset, limit)) list.push_back(protocol::to_json(receipt));
    net::reply_json(response, 200, {{"receipts", list}, {"total", tally().verified}});
  });
  server.Post(api::kProgress, [this](const httplib::Request& request, httplib::Response& response) {
    const auto signed_request = read_signed(verifier_, request, Replays::Refused, net::EmptyBody::Refused);
    const auto peer = directory_.find(signed_request.sender);
    if (!peer || peer->stage != 0) throw net::HttpError(403, "only a stage-0 replica reports progress");
    const auto& step = protocol::progress_step(signed_request.body);
    progress_.add(step);
    net::reply_json(response, 200, {{"ok", true}});
  });
  server.Get(api::kProgress, [this](const httplib::Request& request, httplib::Response& response) {
    const auto page = progress_.since(number_param(request, "since", 0), 1000);
    net::reply_json(response, 200, {{"steps", page.steps}, {"first", page.first}, {"total", page.total}});
  });
}

}  // namespace tessera::hub
