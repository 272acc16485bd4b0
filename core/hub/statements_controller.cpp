// Statement and epoch routes over the settlement book.
#include "core/hub/statements_controller.h"

#include <httplib.h>

#include "core/hub/settlement_book.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"

namespace tessera::hub {
namespace {

void reply_not_found(httplib::Response& response, const std::string& message) {
  net::reply_error(response, 404, message, "not_found");
}

}  // namespace

void StatementsController::mount(httplib::Server& server) {
  namespace api = protocol::hub_api;
  const SettlementBook* book = &book_;  // the routes hold the book, not this controller
  server.Get(api::kEpoch, [book](const httplib::Request&, httplib::Response& response) {
    net::reply_json(response, 200, book->open_epoch_json());
  });
  server.Get(api::kLatestStatement, [book](const httplib::Request&, httplib::Response& response) {
    const auto published = book->latest();
    if (!published) return reply_not_found(response, "no epoch has been settled yet");
    net::reply_json(response, 200, protocol::to_json(published->statement()));
  });
  server.Get(api::statement_pattern(), [book](const httplib::Request& request, httplib::Response& response) {
    const auto published = book->epoch(std::stoull(request.matches[1]));
    if (!published) return reply_not_found(response, "no statement for epoch " + std::string(request.matches[1]));
    net::reply_json(response, 200, protocol::to_json(published->statement()));
  });
  server.Get(api::proof_pattern(), [book](const httplib::Request& request, httplib::Response& response) {
    const auto number = std::stoull(request.matches[1]);
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
