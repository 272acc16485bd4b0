// Step records: the driver's word that a step committed, checked, stored and answered with the
// next step's route seed, over cpp-httplib.
#include "core/hub/steps_controller.h"

#include <httplib.h>

#include <string>

#include "core/hub/committed_work.h"
#include "core/hub/hub_store.h"
#include "core/hub/membership_controller.h"
#include "core/hub/peer_directory.h"
#include "core/hub/request_verifier.h"
#include "core/hub/route_seeder.h"
#include "core/hub/run_roster.h"
#include "core/hub/signed_request.h"
#include "core/hub/step_book.h"
#include "core/hub/step_progress.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/wallet/encoding.h"
#include "core/hub/route_table.h"

namespace tessera::hub {
namespace {

[[noreturn]] void refuse(const std::string& why) { throw net::HttpError(403, "step record refused: " + why); }

protocol::SignedStepRecord record_from(const nlohmann::json& body) {
  const auto found = body.find("record");
  if (found == body.end() || !found->is_string())
    throw net::HttpError(400, "the step report needs \"record\": the hex of a signed step record");
  auto record = protocol::SignedStepRecord::from_hex(found->get_ref<const std::string&>());
  if (!record) throw net::HttpError(400, "\"record\" is not one encoded, signed step record");
  return std::move(*record);
}

// The step's figures for GET /api/progress, held to the rules of POST /api/progress.
std::optional<nlohmann::json> progress_from(const nlohmann::json& body) {
  const auto found = body.find("progress");
  if (found == body.end()) return std::nullopt;
  try {
    return protocol::progress_step(nlohmann::json{{"step", *found}});
  } catch (const std::invalid_argument& error) {
    throw net::HttpError(400, std::string("\"progress\": ") + error.what());
  }
}

void check_route(const protocol::StepRecord& record, const protocol::SignedRouteSeed& issued,
                 const std::vector<std::vector<protocol::WeightedReplica>>& weights) {
  if (record.route_seed != issued.seed.seed) refuse("the route is not the hub's (another route seed)");
  for (std::size_t stage = 0; stage < record.replicas.size(); ++stage)
    if (protocol::order_replicas(issued.seed.seed, static_cast<std::uint16_t>(stage), weights[stage]) !=
        record.replicas[stage])
      refuse("the route is not the hub's (stage " + std::to_string(stage) + "'s replicas are in another order)");
}

}  // namespace

void StepsController::check_driver(const wallet::PublicKey& sender, const protocol::SignedStepRecord& signed_record) {
  const auto driver = parts_.membership.peer_list().driver;
  if (!driver || *driver != sender) refuse("the sender is not the driver the hub names");
  if (signed_record.record.driver != sender) refuse("the record names another driver than its sender");
  if (!signed_record.verify()) refuse("the record's signature does not verify");
}

void StepsController::check_shape(const protocol::StepRecord& record) const {
  const auto& manifest = parts_.manifest;
  if (record.run_id != manifest.run_id) refuse("another run (" + record.run_id + ")");
  if (record.step > kMaxStoredStep) refuse("the step is out of range");
  if (record.micro_batches != static_cast<std::uint32_t>(manifest.train.micro_batches))
    refuse(std::to_string(record.micro_batches) + " micro-batches; the run's steps have " +
           std::to_string(manifest.train.micro_batches));
  const auto tokens = static_cast<std::uint64_t>(manifest.train.micro_batch_size) *
                      static_cast<std::uint64_t>(manifest.model.context);
  if (record.tokens_per_micro_batch != tokens)
    refuse(std::to_string(record.tokens_per_micro_batch) + " tokens per micro-batch; the run's have " +
           std::to_string(tokens));
  if (record.replicas.size() != static_cast<std::size_t>(manifest.stages))
    refuse("replicas for " + std::to_string(record.replicas.size()) + " stages; the run has " +
           std::to_string(manifest.stages));
  if (record.committers.size() > record.replicas.size()) refuse("committers for more stages than the run has");
  for (const auto& stage : record.replicas)
    if (stage.empty()) refuse("a stage without replicas");
}

void StepsController::check_members(const protocol::StepRecord& record) const {
  for (const auto* stages : {&record.replicas, &record.committers})
    for (std::size_t stage = 0; stage < stages->size(); ++stage)
      for (const auto& key : (*stages)[stage])
        if (parts_.roster.stage_of(key) != static_cast<int>(stage))
          refuse("node " + wallet::to_hex(key).substr(0, 16) + "… is not a member of this run at stage " +
                 std::to_string(stage));
}

std::vector<std::vector<protocol::WeightedReplica>> StepsController::weights(const protocol::StepRecord& record) const {
  std::vector<std::vector<protocol::WeightedReplica>> out(record.replicas.size());
  for (std::size_t stage = 0; stage < record.replicas.size(); ++stage)
    for (const auto& key : record.replicas[stage]) {
      const auto peer = parts_.directory.find(key);  // gone since: weight 1, as order_replicas counts 0
      out[stage].push_back({key, peer ? peer->device.tokens_per_s : 0.0});
    }
  return out;
}

nlohmann::json StepsController::commit(const wallet::PublicKey& sender, const nlohmann::json& body) {
  const auto signed_record = record_from(body);
  const auto progress = progress_from(body);
  const auto& record = signed_record.record;
  check_driver(sender, signed_record);
  check_shape(record);
  check_members(record);  // the roster and directory are read before the store's lock is taken
  const auto replica_weights = weights(record);

  auto transaction = parts_.store.begin();
  auto& db = transaction.db();
  const auto last = step_book::last_step(db);
  if (last && record.step <= *last)
    throw net::HttpError(409, "step record refused: step " + std::to_string(record.step) +
                                  " is not above the last committed step " + std::to_string(*last));
  // The route is the newest seed's, the one issued for the step after the last record: a driver
  // that skips step numbers (to route by its own order) does not escape it.
  if (const auto issued = step_book::seed(db, last ? *last + 1 : 1); issued && record.step >= issued->seed.step)
    check_route(record, *issued, replica_weights);
  step_book::store(db, signed_record, unix_ms());
  parts_.work.step_committed(transaction, record);
  const auto next = record.step < kMaxStoredStep ? parts_.seeds.issue(db, record.step + 1) : std::nullopt;
  transaction.commit();  // durable before the answer says so

  if (progress) parts_.progress.add(*progress);
  nlohmann::json reply{{"step", record.step}};
  if (next) reply["route_seed"] = next->to_hex();
  return reply;
}

void StepsController::mount(RouteTable& routes) {
  routes.Post(protocol::hub_api::kSteps, [this](const httplib::Request& request, httplib::Response& response) {
    const auto report = read_signed(parts_.verifier, request, Replays::Refused, net::EmptyBody::Refused);
    net::reply_json(response, 200, commit(report.sender, report.body));
  });
}

}  // namespace tessera::hub
