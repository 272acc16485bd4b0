// The hub's settlement API (DESIGN.md "Epochs and statements"): the open epoch, the published
// statements and each owner's Merkle proof with the revenue part the hub says it earned that epoch
// (unsigned: a node records it as accrued only). Reads the SettlementBook, which serves every
// published epoch from the hub's store; unknown epochs and owners are 404 with
// {"error": {"message", "type": "not_found"}}. GET /api/epoch flags a settlement that withheld
// amounts past 2^64 - 1 ("overflowed").
#pragma once

namespace tessera::hub {

class RouteTable;

class SettlementBook;

class StatementsController {
 public:
  // `book` must outlive the table the routes are mounted in (the controller need not).
  explicit StatementsController(const SettlementBook& book) : book_(book) {}

  // GET /api/epoch, /api/statements/latest, /api/statements/<n>, /api/statements/<n>/proof/<owner>.
  void mount(RouteTable& routes);

 private:
  const SettlementBook& book_;
};

}  // namespace tessera::hub
