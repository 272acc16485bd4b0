// /v1/models and /v1/completions over cpp-httplib.
#include "core/hub/gateway_controller.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "core/hub/gateway.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/sys/bounded_json.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {
namespace {

void reply_error(httplib::Response& response, const Gateway& gateway, const GatewayError& error) {
  if (error.status() == 429) response.set_header("Retry-After", std::to_string(gateway.retry_after().count()));
  net::reply_json(response, error.status(), error_body(error));
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string completion_id() {
  static std::atomic<std::uint64_t> counter{0};
  std::array<std::uint8_t, 8> random{};
  randombytes_buf(random.data(), random.size());
  return "cmpl-" + wallet::to_hex(random) + "-" + std::to_string(++counter);
}

nlohmann::json usage_json(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.total()}};
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

// One text_completion object (a whole reply, or one event of a stream).
struct Chunks {
  std::string id = completion_id();
  std::int64_t created = unix_seconds();
  std::string model;
  nlohmann::json operator()(const std::string& text, const nlohmann::json& finish) const {
    return {{"id", id},
            {"object", "text_completion"},
            {"created", created},
            {"model", model},
            {"choices", {{{"text", text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}}}}};
  }
};

void complete_whole(Gateway& gateway, const CompletionRequest& request, GatewayCharge& charge,
                    httplib::Response& response) {
  const Chunks chunk{.model = gateway.limits().model_id};
  Usage usage;
  std::string text;
  const auto finish = gateway.complete(request, [&](const std::string& piece) { text += piece; }, usage);
  auto result = chunk(text, finish);
  result["usage"] = usage_json(usage);
  charge.settle(usage);
  net::reply_json(response, result);
}

// Server-sent events, ending with [DONE]; `slot` and `charge` are held until the stream has ended.
// A client that goes away mid-stream pays for the tokens it was sent; a failed one pays nothing.
void complete_streamed(Gateway& gateway, const CompletionRequest& request, std::shared_ptr<CompletionSlot> slot,
                       std::shared_ptr<GatewayCharge> charge, httplib::Response& response) {
  const Chunks chunk{.model = gateway.limits().model_id};
  response.set_header("Cache-Control", "no-cache");
  response.set_chunked_content_provider(
      "text/event-stream", [gateway = &gateway, request, chunk, slot, charge](std::size_t, httplib::DataSink& sink) {
        const auto send = [&](const nlohmann::json& event) {
          const auto line = "data: " + event.dump() + "\n\n";
          return sink.write(line.data(), line.size());
        };
        Usage usage;
        try {
          const auto finish = gateway->complete(request, [&](const std::string& piece) {
            if (!send(chunk(piece, nullptr))) throw GatewayError(499, "client_closed", "the client went away");
          }, usage);
          auto last = chunk("", finish);
          last["usage"] = usage_json(usage);
          charge->settle(usage);
          send(last);
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

}  // namespace

void reply_gateway_refusal(httplib::Response& response, int status, const std::string& message) {
  net::reply_json(response, status, error_body(GatewayError(status, "invalid_request_error", message)));
}

void GatewayController::mount(httplib::Server& server) {
  Gateway* gateway = &gateway_;  // the routes hold the gateway, not this controller
  server.Get(protocol::hub_api::kModels, [gateway](const httplib::Request& request, httplib::Response& response) {
    try {
      gateway->authorize(request.get_header_value("Authorization"));
      const nlohmann::json model{
          {"id", gateway->limits().model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "tessera"}};
      net::reply_json(response, nlohmann::json{{"object", "list"}, {"data", {model}}});
    } catch (const GatewayError& error) {
      reply_error(response, *gateway, error);
    }
  });
  server.Post(protocol::hub_api::kCompletions, [gateway](const httplib::Request& http_request,
                                                         httplib::Response& response) {
    try {
      gateway->authorize(http_request.get_header_value("Authorization"));
      const auto request = parse_completion_request(completion_body(http_request, gateway->body_limit()), gateway->limits());
      auto slot = gateway->admit();
      auto charge = gateway->reserve(http_request.get_header_value("Authorization"), request);
      if (request.stream) complete_streamed(*gateway, request, std::move(slot), std::move(charge), response);
      else complete_whole(*gateway, request, *charge, response);
    } catch (const GatewayError& error) {
      reply_error(response, *gateway, error);
    }
  });
}

}  // namespace tessera::hub
