// /v1/models and /v1/completions over cpp-httplib.
#include "core/hub/gateway_controller.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "core/hub/gateway.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {
namespace {

void reply_error(httplib::Response& response, const GatewayError& error) {
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

}  // namespace

void GatewayController::mount(httplib::Server& server) {
  Gateway* gateway = &gateway_;  // the routes hold the gateway, not this controller
  server.Get(protocol::hub_api::kModels, [gateway](const httplib::Request& request, httplib::Response& response) {
    if (!gateway->authorized(request.get_header_value("Authorization")))
      return reply_error(response, GatewayError(401, "invalid_api_key", "a valid API key is required (Authorization: Bearer …)"));
    const nlohmann::json model{
        {"id", gateway->limits().model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "tessera"}};
    net::reply_json(response, nlohmann::json{{"object", "list"}, {"data", {model}}});
  });
  server.Post(protocol::hub_api::kCompletions, [gateway](const httplib::Request& http_request,
                                                         httplib::Response& response) {
    try {
      if (!gateway->authorized(http_request.get_header_value("Authorization")))
        throw GatewayError(401, "invalid_api_key", "a valid API key is required (Authorization: Bearer …)");
      nlohmann::json body;
      try {
        body = nlohmann::json::parse(http_request.body);
      } catch (const nlohmann::json::exception&) {
        throw GatewayError(400, "invalid_request_error", "the request body is not valid JSON");
      }
      const auto request = parse_completion_request(body, gateway->limits());
      const auto id = completion_id();
      const auto created = unix_seconds();
      const auto chunk = [gateway, id, created](const std::string& text, const nlohmann::json& finish) {
        return nlohmann::json{{"id", id},
                              {"object", "text_completion"},
                              {"created", created},
                              {"model", gateway->limits().model_id},
                              {"choices", {{{"text", text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}}}}};
      };
      if (!request.stream) {
        Usage usage;
        std::string text;
        const auto finish = gateway->complete(request, [&](const std::string& piece) { text += piece; }, usage);
        auto result = chunk(text, finish);
        result["usage"] = usage_json(usage);
        gateway->meter(usage);
        net::reply_json(response, result);
        return;
      }
      response.set_header("Cache-Control", "no-cache");
      response.set_chunked_content_provider(
          "text/event-stream", [gateway, request, chunk](std::size_t, httplib::DataSink& sink) {
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
              send(last);
              gateway->meter(usage);
            } catch (const GatewayError& error) {
              if (error.status() != 499) send(error_body(error));
            }
            static const std::string done = "data: [DONE]\n\n";
            sink.write(done.data(), done.size());
            sink.done();
            return true;
          });
    } catch (const GatewayError& error) {
      reply_error(response, error);
    }
  });
}

}  // namespace tessera::hub
