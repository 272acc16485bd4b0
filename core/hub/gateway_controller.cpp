// /v1/models, /v1/completions and /v1/chat/completions over cpp-httplib.
#include "core/hub/gateway_controller.h"

#include <memory>
#include <utility>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/hub/chat.h"
#include "core/hub/completion_replies.h"
#include "core/hub/gateway.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/sys/bounded_json.h"
#include "core/hub/route_table.h"

namespace tessera::hub {
namespace {

void reply_error(httplib::Response& response, const Gateway& gateway, const GatewayError& error) {
  if (error.status() == 429) response.set_header("Retry-After", std::to_string(gateway.retry_after().count()));
  net::reply_json(response, error.status(), error_body(error));
}

// The request body within the gateway's size and nesting limits.
nlohmann::json completion_body(const httplib::Request& request, std::size_t limit) {
  auto parsed = sys::parse_bounded_json(request.body, {limit, net::kMaxBodyDepth});
  if (!parsed.value) throw GatewayError(request.body.size() > limit ? 413 : 400, "invalid_request_error",
                                        "the request body is refused: " + parsed.error);
  return std::move(*parsed.value);
}

// A stream cut off by its client: what was sent is paid for, and a failure to record it is logged,
// as the client is no longer there to be told.
void settle_quietly(GatewayCharge& charge, const Usage& usage) {
  try {
    charge.settle(usage);
  } catch (const std::exception& error) {
    spdlog::error("gateway: a cut-off stream's {} tokens could not be debited: {}", usage.total(), error.what());
  }
}

void complete_whole(Gateway& gateway, const CompletionRequest& request, const CompletionReplies& replies,
                    GatewayCharge& charge, httplib::Response& response) {
  Usage usage;
  std::string text;
  const auto finish = gateway.complete(request, [&](const std::string& piece) { text += piece; }, usage);
  auto result = replies.whole(text, finish, usage);
  charge.settle(usage);
  net::reply_json(response, result);
}

// Server-sent events, ending with [DONE]; `slot` and `charge` are held until the stream has ended.
// A client that goes away mid-stream pays for the tokens it was sent; a failed one pays nothing.
void complete_streamed(Gateway& gateway, const CompletionRequest& request,
                       std::shared_ptr<const CompletionReplies> replies, std::shared_ptr<CompletionSlot> slot,
                       std::shared_ptr<GatewayCharge> charge, httplib::Response& response) {
  response.set_header("Cache-Control", "no-cache");
  response.set_chunked_content_provider(
      "text/event-stream", [gateway = &gateway, request, replies, slot, charge](std::size_t, httplib::DataSink& sink) {
        const auto send = [&](const nlohmann::json& event) {
          const auto line = "data: " + event.dump() + "\n\n";
          return sink.write(line.data(), line.size());
        };
        const auto gone = [] { return GatewayError(499, "client_closed", "the client went away"); };
        Usage usage;
        try {
          for (const auto& event : replies->opening())
            if (!send(event)) throw gone();
          const auto finish = gateway->complete(request, [&](const std::string& piece) {
            if (!send(replies->piece(piece))) throw gone();
          }, usage);
          const auto closing = replies->closing(finish, usage);
          charge->settle(usage);
          for (const auto& event : closing) send(event);
        } catch (const GatewayError& error) {
          if (error.status() == 499) {
            settle_quietly(*charge, usage);
          } else {
            charge->release();
            send(error_body(error));
          }
        } catch (const std::exception& error) {
          charge->release();
          send(error_body(GatewayError(500, "server_error", error.what())));
        }
        static const std::string done = "data: [DONE]\n\n";
        sink.write(done.data(), done.size());
        sink.done();
        return true;
      });
}

// What both completion routes do, in order: the key, the body, the fields (`parse` turns the body
// into the request and how its replies are shaped), a place among the completions run at once,
// the most it can cost reserved, then the completion, whole or streamed, settled with its usage.
template <class Parse>
void serve_completion(Gateway& gateway, const httplib::Request& http_request, httplib::Response& response,
                      const Parse& parse) {
  try {
    const auto authorization = http_request.get_header_value("Authorization");
    gateway.authorize(authorization);
    auto [request, replies] = parse(completion_body(http_request, gateway.body_limit()));
    auto slot = gateway.admit();
    auto charge = gateway.reserve(authorization, request);
    if (request.stream)
      complete_streamed(gateway, request, std::move(replies), std::move(slot), std::move(charge), response);
    else
      complete_whole(gateway, request, *replies, *charge, response);
  } catch (const GatewayError& error) {
    reply_error(response, gateway, error);
  }
}

using ParsedCompletion = std::pair<CompletionRequest, std::shared_ptr<const CompletionReplies>>;

}  // namespace

void reply_gateway_refusal(httplib::Response& response, int status, const std::string& message) {
  net::reply_json(response, status, error_body(GatewayError(status, "invalid_request_error", message)));
}

void GatewayController::mount(RouteTable& routes) {
  Gateway* gateway = &gateway_;  // the routes hold the gateway, not this controller
  routes.Get(protocol::hub_api::kModels, [gateway](const httplib::Request& request, httplib::Response& response) {
    try {
      gateway->authorize(request.get_header_value("Authorization"));
      const nlohmann::json model{
          {"id", gateway->limits().model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "tessera"}};
      net::reply_json(response, nlohmann::json{{"object", "list"}, {"data", {model}}});
    } catch (const GatewayError& error) {
      reply_error(response, *gateway, error);
    }
  });
  routes.Post(protocol::hub_api::kCompletions, [gateway](const httplib::Request& request, httplib::Response& response) {
    serve_completion(*gateway, request, response, [gateway](const nlohmann::json& body) {
      const auto& limits = gateway->limits();
      return ParsedCompletion{parse_completion_request(body, limits),
                              std::make_shared<TextCompletionReplies>(limits.model_id)};
    });
  });
  routes.Post(protocol::hub_api::kChatCompletions, [gateway](const httplib::Request& request,
                                                             httplib::Response& response) {
    serve_completion(*gateway, request, response, [gateway](const nlohmann::json& body) {
      const auto& limits = gateway->limits();
      auto chat = parse_chat_request(body, limits);
      return ParsedCompletion{std::move(chat.completion),
                              std::make_shared<ChatCompletionReplies>(limits.model_id, chat.include_usage)};
    });
  });
}

}  // namespace tessera::hub
