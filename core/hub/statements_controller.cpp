// Statement and epoch routes over the settlement book.
#include "core/hub/statements_controller.h"

#include <httplib.h>

#include "core/hub/settlement_book.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/hub/route_table.h"

namespace tessera::hub {
namespace {

void reply_not_found(httplib::Response& response, const std::string& message) {
  net::reply_error(response, 404, message, "not_found");
}

// The epoch in a path (digits, by the route's pattern); one past every u64 is no epoch at all.
std::uint64_t epoch_in(const httplib::Request& request) {
  try {
    return std::stoull(request.matches[1]);
  } catch (const std::out_of_range&) {
    return 0;
  }
}

}  // namespace

void StatementsController::mount(RouteTable& routes) {
  namespace api = protocol::hub_api;
  const SettlementBook* book = &book_;  // the routes hold the book, not this controller
  routes.Get(api::kEpoch, [book](const httplib::Request&, httplib::Response& response) {
    net::reply_json(response, 200, book->open_epoch_json());
  });
  routes.Get(api::kLatestStatement, [book](const httplib::Request&, httplib::Response& response) {
    const auto statement = book->latest_statement();
    if (!statement) return reply_not_found(response, "no epoch has been settled yet");
    net::reply_json(response, 200, protocol::to_json(*statement));
  });
  routes.Get(api::statement_pattern(), [book](const httplib::Request& request, httplib::Response& response) {
    const auto statement = book->statement(epoch_in(request));
    if (!statement) return reply_not_found(response, "no statement for epoch " + std::string(request.matches[1]));
    net::reply_json(response, 200, protocol::to_json(*statement));
  });
  routes.Get(api::proof_pattern(), [book](const httplib::Request& request, httplib::Response& response) {
    const auto number = epoch_in(request);  // the tree is rebuilt from the store unless cached
    const std::string owner = request.matches[2];
    const auto published = book->epoch(number);
    if (!published) return reply_not_found(response, "no statement for epoch " + std::to_string(number));
    const auto proof = published->proof_for(owner);
    if (!proof) return reply_not_found(response, owner + " owns nothing in epoch " + std::to_string(number));
    auto body = protocol::to_json(*proof);
    body["epoch_revenue_part"] = book->revenue_part(number, owner);  // unsigned: shown as accrued
    body["currency"] = book->currency();
    net::reply_json(response, 200, body);
  });
}

}  // namespace tessera::hub
