// The node suites' attacker (see hostile_member.h).
#include "tests/adversarial/hostile_member.h"

#include <stdexcept>

namespace tessera::adversarial {

using namespace std::chrono_literals;

HostileMember::HostileMember(const std::string& hub_url) : peer_(hub_url) {}

HostileMember::~HostileMember() {
  links_.clear();  // before the context they were made on
}

bool HostileMember::enter(std::string& why) {
  try {
    run_ = RunShape::of(peer_.manifest());
    server_ = std::make_unique<HostileStage>(peer_.key(), run_.run_id);
    peer_.join(server_->endpoint());
    server_->allow(peer_.peers());
    peer_.ready();
    honest_ = targets(peer_.peers(), key());
  } catch (const std::exception& error) {
    why = std::string("the hostile member could not join: ") + error.what();
    return false;
  }
  if (static_cast<int>(honest_.size()) < run_.stages) {
    why = "the peer list shows " + std::to_string(honest_.size()) + " ready honest nodes for " +
          std::to_string(run_.stages) + " stages";
    return false;
  }
  for (const auto& target : honest_) {
    links_.push_back(std::make_unique<NodeLink>(context_, peer_.key(), target, run_));
    if (!links_.back()->admitted(30s)) {
      why = "honest node of stage " + std::to_string(target.stage) + " never admitted the member's key";
      return false;
    }
  }
  return true;
}

NodeLink& HostileMember::link_to_stage(int stage) {
  for (auto& link : links_)
    if (link->target().stage == stage) return *link;
  throw std::out_of_range("no honest node serves stage " + std::to_string(stage));
}

}  // namespace tessera::adversarial
