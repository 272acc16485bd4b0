// JSON over cpp-httplib for every HTTP server in core (the hub's controllers, the node's control
// API), written once: a reply with a JSON body; the error reply {"error": {"message": …}} (with a
// "type" where the API names one); what a route throws turned into that reply; a request body
// read as a JSON object and its fields read with errors that name the field. A body's size is
// bounded before it is read (core/net/http_limits.h).
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "core/sys/json_number.h"

namespace httplib {
struct Request;
struct Response;
class Server;
}  // namespace httplib

namespace tessera::net {

// A refusal a route throws with its HTTP status (403 refused, 404 unknown, …); with a 429 or 503,
// when to try again (the Retry-After header, whole seconds).
struct HttpError : std::runtime_error {
  int status;
  std::chrono::seconds retry_after{0};  // 0: no Retry-After header
  HttpError(int code, const std::string& message) : std::runtime_error(message), status(code) {}
  HttpError(int code, const std::string& message, std::chrono::seconds retry)
      : std::runtime_error(message), status(code), retry_after(retry) {}
};

void reply_json(httplib::Response& response, int status, const nlohmann::json& body);
// Leaves the status to cpp-httplib: 200, or 206 when the request asked for a range.
void reply_json(httplib::Response& response, const nlohmann::json& body);
// {"error": {"message": message, "type": type}}; without "type" when `type` is null.
void reply_error(httplib::Response& response, int status, const std::string& message, const char* type = nullptr);

// The "type" of the error replies reply_thrown_errors makes (null: none).
struct ErrorTypes {
  const char* bad_request = nullptr;  // std::invalid_argument: 400
  const char* failure = nullptr;      // any other exception: 500
};
// Makes `server` answer what a route throws with reply_error: HttpError with its status (and its
// Retry-After) and no type, std::invalid_argument with 400, anything else with 500.
void reply_thrown_errors(httplib::Server& server, ErrorTypes types = {});

enum class EmptyBody { Refused, IsEmptyObject };
inline constexpr int kMaxBodyDepth = 16;
// The request's body as a JSON object nested at most kMaxBodyDepth deep (checked before the
// document is built); throws std::invalid_argument otherwise.
nlohmann::json json_object_body(const httplib::Request& request, EmptyBody empty = EmptyBody::Refused);

// `body[name]` as a T; throws std::invalid_argument when it is missing or of another type (an
// integer T only from an integer in its range: sys/json_number.h).
template <typename T>
T json_field(const nlohmann::json& body, const char* name) {
  if (!body.is_object() || !body.contains(name)) throw std::invalid_argument(std::string("missing field '") + name + "'");
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return sys::json_integer<T>(body.at(name), std::string("field '") + name + "'");
  }
  try {
    return body.at(name).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw std::invalid_argument(std::string("field '") + name + "' has the wrong type");
  }
}

}  // namespace tessera::net
