// Shard downloads (with Range) and proposals over cpp-httplib.
#include "core/hub/shards_controller.h"

#include <httplib.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <vector>

#include "core/hub/request_verifier.h"
#include "core/hub/shard_store.h"
#include "core/hub/signed_request.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/sys/bounded_json.h"
#include "core/wallet/delegation.h"

namespace tessera::hub {
namespace {

namespace api = protocol::hub_api;

constexpr std::size_t kChunkBytes = 256 * 1024;

wallet::Delegation delegation_header(const httplib::Request& request) {
  const auto text = request.get_header_value(protocol::kDelegationHeader);
  if (text.empty())
    throw std::invalid_argument(std::string("a proposal carries its owner's delegation in the ") +
                                protocol::kDelegationHeader + " header");
  if (text.size() > protocol::kMaxDelegationHeaderBytes)
    throw std::invalid_argument(std::string("the ") + protocol::kDelegationHeader + " header is too long");
  const auto parsed = sys::parse_bounded_json(text, {protocol::kMaxDelegationHeaderBytes, 4});
  if (!parsed.value) throw std::invalid_argument(std::string("the ") + protocol::kDelegationHeader + " header is not JSON");
  return wallet::Delegation::from_json(*parsed.value);
}

// Serves `file` (`size` bytes) from an open stream; cpp-httplib cuts it to the request's range.
void serve_file(const httplib::Request& request, httplib::Response& response, const std::filesystem::path& file) {
  auto in = std::make_shared<std::ifstream>(file, std::ios::binary);
  std::error_code error;
  const auto size = static_cast<std::size_t>(std::filesystem::file_size(file, error));
  if (!*in || error) throw net::HttpError(500, "the shard cannot be read");
  if (request.ranges.size() > 1) throw net::HttpError(416, "one range at a time");
  if (request.ranges.size() == 1) {
    const auto [first, last] = request.ranges.front();
    const auto end = static_cast<std::ptrdiff_t>(size);
    if (first >= end || last >= end || (first < 0 && last <= 0) || (first >= 0 && last >= 0 && last < first))
      throw net::HttpError(416, "the shard has " + std::to_string(size) + " bytes; the range is outside them");
  }
  response.set_header("Accept-Ranges", "bytes");
  response.set_content_provider(size, "application/octet-stream",
                                [in](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                                  std::vector<char> buffer(std::min(length, kChunkBytes));
                                  in->clear();
                                  in->seekg(static_cast<std::streamoff>(offset));
                                  in->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
                                  const auto got = static_cast<std::size_t>(in->gcount());
                                  return got > 0 && sink.write(buffer.data(), got);
                                });
}

}  // namespace

ShardsController::ShardsController(std::string run_id, std::uint64_t min_bytes, ShardStore& store,
                                   const RequestVerifier& verifier, ShardLimits limits)
    : run_id_(std::move(run_id)),
      min_bytes_(min_bytes),
      store_(store),
      verifier_(verifier),
      per_address_(limits.proposals_per_address),
      per_owner_(limits.proposals_per_owner) {}

nlohmann::json ShardsController::propose(const httplib::Request& request) {
  take_token(per_address_, address_key(request.remote_addr), "shard proposals from this address");
  if (request.body.size() > api::kShardBodyLimit)
    throw net::HttpError(413, "a shard is at most " + std::to_string(api::kShardBodyLimit) + " bytes");
  const auto sender = verifier_.verify(signature_headers(request), request.method, request.path, request.body,
                                       Replays::Refused);
  const auto delegation = delegation_header(request);
  const auto status = wallet::verify_delegation(delegation, sender, run_id_, unix_ms() / 1000);
  if (status != wallet::DelegationStatus::Valid)
    throw net::HttpError(403, "proposal refused: delegation " + std::string(wallet::describe(status)));
  // Only once the owner's signature verified, so nobody spends another owner's proposals.
  take_token(per_owner_, delegation.owner_address, "shard proposals for this owner");
  const auto claimed = request.get_header_value(protocol::kShardHashHeader);
  if (!protocol::valid_shard_hash(claimed))
    throw std::invalid_argument(std::string("the ") + protocol::kShardHashHeader +
                                " header must be the shard's BLAKE2b-256 as 64 lowercase hex digits");
  if (request.body.size() < min_bytes_)
    throw std::invalid_argument("the shard has " + std::to_string(request.body.size()) +
                                " bytes; this run trains on sequences of " + std::to_string(min_bytes_));
  const auto actual = protocol::shard_hash(request.body);
  if (actual != claimed) throw std::invalid_argument("the shard's bytes hash to " + actual + ", not " + claimed);
  const protocol::PendingShard shard{run_id_, claimed, request.body.size(), delegation.owner_address, unix_ms()};
  const auto result = store_.propose(shard, request.body);
  switch (result.outcome) {
    case ProposalOutcome::RunFull:
      throw net::HttpError(429, "this run has " + std::to_string(ShardStore::kMaxPendingPerRun) +
                                    " shards waiting for review; propose again once its publisher has reviewed them",
                           std::chrono::seconds(3600));
    case ProposalOutcome::OwnerFull:
      throw net::HttpError(429, "this owner has " + std::to_string(ShardStore::kMaxPendingPerOwner) +
                                    " shards waiting for review in this run; propose more once they are reviewed",
                           std::chrono::seconds(3600));
    case ProposalOutcome::AlreadyAccepted:
      return {{"hash", claimed}, {"bytes", shard.bytes}, {"contributor", ""}, {"state", "accepted"}};
    case ProposalOutcome::Stored:
    case ProposalOutcome::AlreadyPending:
      break;
  }
  return {{"hash", result.shard.hash},
          {"bytes", result.shard.bytes},
          {"contributor", result.shard.contributor},
          {"state", "pending"}};
}

void ShardsController::mount(httplib::Server& server) {
  server.Get(api::shard_pattern(), [this](const httplib::Request& request, httplib::Response& response) {
    const auto file = store_.accepted(request.matches[1]);
    if (!file) throw net::HttpError(404, "this hub has no accepted shard " + std::string(request.matches[1]));
    serve_file(request, response, *file);
  });
  server.Post(api::kShards, [this](const httplib::Request& request, httplib::Response& response) {
    net::reply_json(response, 200, propose(request));
  });
}

}  // namespace tessera::hub
