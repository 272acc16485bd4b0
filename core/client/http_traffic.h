// What the node's HTTP exchanges with the hub carry, counted into its traffic meter as control
// traffic (net/traffic_meter.h): HubClient and StatementFetcher both count here.
#pragma once

#include "core/net/traffic_meter.h"

namespace httplib {
class Client;
}

namespace tessera::client {

// Counts every exchange `client` completes into `traffic` (through its logger; `traffic` may be
// null: nothing is counted, and the client's logger is left alone).
void count_http_traffic(httplib::Client& client, net::TrafficMeter* traffic);

}  // namespace tessera::client
