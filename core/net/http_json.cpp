// JSON replies, error replies and request bodies over cpp-httplib (see http_json.h).
#include "core/net/http_json.h"

#include <httplib.h>

#include "core/sys/bounded_json.h"

namespace tessera::net {

void reply_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  reply_json(response, body);
}

void reply_json(httplib::Response& response, const nlohmann::json& body) {
  response.set_content(body.dump(), "application/json");
}

void reply_error(httplib::Response& response, int status, const std::string& message, const char* type) {
  nlohmann::json error{{"message", message}};
  if (type) error["type"] = type;
  reply_json(response, status, {{"error", error}});
}

void reply_thrown_errors(httplib::Server& server, ErrorTypes types) {
  server.set_exception_handler([types](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
    try {
      std::rethrow_exception(error);
    } catch (const HttpError& refused) {
      if (refused.retry_after.count() > 0) response.set_header("Retry-After", std::to_string(refused.retry_after.count()));
      reply_error(response, refused.status, refused.what());
    } catch (const std::invalid_argument& bad) {
      reply_error(response, 400, bad.what(), types.bad_request);
    } catch (const std::exception& failure) {
      reply_error(response, 500, failure.what(), types.failure);
    } catch (...) {
      reply_error(response, 500, "unknown error", types.failure);
    }
  });
}

nlohmann::json json_object_body(const httplib::Request& request, EmptyBody empty) {
  if (empty == EmptyBody::IsEmptyObject && request.body.empty()) return nlohmann::json::object();
  auto parsed = sys::parse_bounded_json(request.body, {request.body.size(), kMaxBodyDepth});
  if (!parsed.value) throw std::invalid_argument("the request body is refused: " + parsed.error);
  if (!parsed.value->is_object()) throw std::invalid_argument("the request body must be a JSON object");
  return std::move(*parsed.value);
}

}  // namespace tessera::net
