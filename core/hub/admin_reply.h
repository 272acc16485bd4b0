// One admin route's reply (core/protocol/hub_admin_api.h): 401 without the admin token, else the
// route's JSON, with its std::out_of_range as 404 and its std::invalid_argument as 400. Shared by
// every admin area of the hub (keys, shards, runs).
#pragma once

#include <stdexcept>

#include "core/net/http_json.h"

namespace tessera::hub {

template <typename Route>
void admin_reply(bool admitted, httplib::Response& response, Route&& route) {
  if (!admitted) return net::reply_error(response, 401, "the admin token is missing or wrong");
  try {
    net::reply_json(response, route());
  } catch (const std::out_of_range& error) {
    net::reply_error(response, 404, error.what());
  } catch (const std::invalid_argument& error) {
    net::reply_error(response, 400, error.what());
  }
}

}  // namespace tessera::hub
