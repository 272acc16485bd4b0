// GET /api/work?node=<64 hex> (public, like the statements): what a node's work came to per
// epoch, newest first, at most kWorkEpochs of them (node_tally.h): credited receipts and FLOPs,
// rejections by reason, spot checks. 400 for a key that is not 64 hex digits.
#pragma once

#include <cstddef>

namespace tessera::hub {

class RouteTable;

class NodeTally;

inline constexpr std::size_t kWorkEpochs = 30;

class WorkController {
 public:
  // `tally` must outlive the controller, which must outlive the table it is mounted in.
  explicit WorkController(const NodeTally& tally) : tally_(tally) {}
  void mount(RouteTable& routes);

 private:
  const NodeTally& tally_;
};

}  // namespace tessera::hub
