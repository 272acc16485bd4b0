// Receipt batches, their tally and the driver's step progress over cpp-httplib.
#include "core/hub/receipts_controller.h"

#include <httplib.h>

#include <algorithm>

#include "core/hub/peer_directory.h"
#include "core/hub/request_verifier.h"
#include "core/hub/run_roster.h"
#include "core/hub/settlement_book.h"
#include "core/hub/signed_request.h"
#include "core/net/http_json.h"
#include "core/protocol/manifest.h"
#include "core/protocol/work_units.h"

namespace tessera::hub {

ReceiptsController::ReceiptsController(const protocol::RunManifest& manifest, const PeerDirectory& directory,
                                       const RunRoster& roster, const RequestVerifier& verifier, SettlementBook* book)
    : manifest_(manifest), directory_(directory), roster_(roster), verifier_(verifier), book_(book) {}

nlohmann::json ReceiptsController::report(const wallet::PublicKey& sender, const nlohmann::json& body) {
  const auto& list = protocol::receipt_batch_items(body);
  std::uint64_t accepted = 0, duplicates = 0;
  nlohmann::json rejected = nlohmann::json::array();
  std::lock_guard lock(mutex_);
  const auto sender_stage = roster_.stage_of(sender);
  if (!sender_stage) throw net::HttpError(403, "receipts refused: the sender is not a peer of this run");
  for (const auto& item : list) {
    std::string reason;
    try {
      const auto receipt = protocol::signed_receipt_from_json(item);
      const auto& r = receipt.receipt;
      const auto receiver_stage = roster_.stage_of(r.receiver);
      const int neighbour = r.direction == protocol::Direction::Forward ? r.stage + 1 : r.stage - 1;
      protocol::ReceiptExpectation expected;
      expected.run_id = manifest_.run_id;
      expected.sender = sender;
      if (const auto mismatch = protocol::check_receipt(receipt, expected)) reason = *mismatch;
      else if (!receiver_stage) reason = "the receiver is not a peer of this run";
      else if (*sender_stage != r.stage || *receiver_stage != neighbour)
        reason = "sender and receiver are not neighbouring stages";
      else if (!receipt_ids_.insert(receipt.id()).second) {
        ++duplicates;
        ++tally_.duplicates;
        continue;
      } else {
        receipts_.push_back(receipt);
        ++accepted;
        ++tally_.verified;
        if (book_) {
          if (const auto owner = roster_.owner_of(sender))
            book_->credit_work(*owner,
                               protocol::receipt_flops(manifest_.model, manifest_.stages, r.direction, r.stage, r.tokens));
        }
        continue;
      }
    } catch (const std::exception& error) {
      reason = error.what();
    }
    ++tally_.rejected;
    rejected.push_back(reason);
  }
  return {{"accepted", accepted}, {"duplicates", duplicates}, {"rejected", rejected}};
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
    std::size_t offset = 0, limit = 1000;
    try {
      if (request.has_param("offset")) offset = std::stoul(request.get_param_value("offset"));
      if (request.has_param("limit")) limit = std::min<std::size_t>(std::stoul(request.get_param_value("limit")), 10000);
    } catch (const std::exception&) {
      throw std::invalid_argument("offset and limit must be numbers");
    }
    auto list = nlohmann::json::array();
    std::lock_guard lock(mutex_);
    for (std::size_t i = offset; i < receipts_.size() && i < offset + limit; ++i) list.push_back(protocol::to_json(receipts_[i]));
    net::reply_json(response, 200, {{"receipts", list}, {"total", receipts_.size()}});
  });
  server.Post(api::kProgress, [this](const httplib::Request& request, httplib::Response& response) {
    const auto signed_request = read_signed(verifier_, request, Replays::Refused, net::EmptyBody::Refused);
    const auto peer = directory_.find(signed_request.sender);
    if (!peer || peer->stage != 0) throw net::HttpError(403, "only a stage-0 replica reports progress");
    const auto& step = protocol::progress_step(signed_request.body);
    std::lock_guard lock(mutex_);
    progress_.push_back(step);
    net::reply_json(response, 200, {{"ok", true}});
  });
  server.Get(api::kProgress, [this](const httplib::Request& request, httplib::Response& response) {
    std::size_t since = 0;
    try {
      if (request.has_param("since")) since = std::stoul(request.get_param_value("since"));
    } catch (const std::exception&) {
      throw std::invalid_argument("since must be a number");
    }
    auto list = nlohmann::json::array();
    std::lock_guard lock(mutex_);
    for (std::size_t i = since; i < progress_.size(); ++i) list.push_back(progress_[i]);
    net::reply_json(response, 200, {{"steps", list}, {"total", progress_.size()}});
  });
}

protocol::ReceiptTally ReceiptsController::tally() const {
  std::lock_guard lock(mutex_);
  return tally_;
}

std::vector<protocol::SignedReceipt> ReceiptsController::verified_receipts() const {
  std::lock_guard lock(mutex_);
  return receipts_;
}

std::vector<nlohmann::json> ReceiptsController::progress() const {
  std::lock_guard lock(mutex_);
  return progress_;
}

}  // namespace tessera::hub
