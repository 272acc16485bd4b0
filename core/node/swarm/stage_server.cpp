// The stage server loop and the Forwards it has passed on.
#include "core/node/swarm/stage_server.h"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/run_context.h"

namespace tessera::node::swarm {

using namespace std::chrono_literals;

void StageServer::answer(const net::Incoming& in, Out out) {
  server_.reply(in, out.header, net::pack(out.envelope.meta, out.envelope.blob), 5s);
}

template <typename Which>
void StageServer::fail_passed(const Which& which, const std::string& message, const wallet::PublicKey* failed) {
  for (auto it = passed_.begin(); it != passed_.end();) {
    if (!which(*it)) {
      ++it;
      continue;
    }
    try {
      answer(it->in, handlers_.error_out(it->in.message.header, message, failed, it->request));
    } catch (const std::exception& error) {
      spdlog::debug("stage server: {}", error.what());
    }
    if (it->link->client) it->link->forget(it->downstream_request);
    it = passed_.erase(it);
  }
}

// passed_ holds at most one attempt's micro-batches: each is taken once per attempt, and a
// Forward of a newer attempt answers the older ones at once.
void StageServer::begin_passed(net::Incoming in) {
  const auto h = in.message.header;
  std::optional<nlohmann::json> request;
  try {
    auto envelope = handlers_.open_request(in, request);
    Passed passed;
    {
      std::lock_guard lock(local_.mutex);
      if (!local_.stage) throw std::invalid_argument("this node has no stage yet");
      handlers_.admit(in, envelope);
      passed.job = handlers_.forward().begin_request(in, envelope);
    }
    // Forwards of an attempt the driver has given up on are answered now, so they do not hold
    // up the new attempt's answers.
    const auto attempt = passed.job.attempt;
    fail_passed([&](const Passed& p) { return p.job.attempt != attempt; }, "step attempt was superseded", nullptr);
    auto& link = links_.open(*passed.job.next);
    passed.timeout = handlers_.forward().downstream_timeout(passed.job.queue);
    passed.downstream_request = links_.post(link, passed.job.down, passed.job.down_message, passed.timeout, passed.sent);
    passed.deadline = Clock::now() + passed.timeout;
    passed.link = &link;
    passed.request = request;
    passed.job.down_message = {};  // sent: its bytes are not needed any more
    in.message.payload.clear();
    in.message.payload.shrink_to_fit();
    passed.in = std::move(in);
    passed_.push_back(std::move(passed));
  } catch (const std::exception&) {
    answer(in, handlers_.failed(h, request));
  }
}

Out StageServer::land_one(Passed& front) {
  Reply reply = std::move(*front.link->take(front.downstream_request));
  try {
    reply = expect(front.link->hop, std::move(reply), net::MessageKind::Backward);
    std::lock_guard lock(local_.mutex);
    handlers_.forward().land(front.job, reply, front.sent);
    return handlers_.forward().reply_out(front.job);
  } catch (const std::exception&) {
    return handlers_.failed(front.in.message.header, front.request, "a forward answer");
  }
}

void StageServer::land_passed() {
  while (!passed_.empty()) {
    auto& front = passed_.front();
    auto* link = front.link;
    const bool answered = link->client && link->early.count(front.downstream_request);
    if (!answered) {
      if (link->client && Clock::now() < front.deadline) return;
      const auto peer = link->hop.key;
      fail_passed([&](const Passed& p) { return p.link == link; }, "peer " + short_key(peer) + " did not answer", &peer);
      PeerCalls::Links::drop(*link);
      continue;
    }
    auto out = land_one(front);
    if (front.request) out.envelope.meta["request"] = *front.request;
    try {
      answer(front.in, std::move(out));
    } catch (const std::exception& error) {
      spdlog::debug("stage server: {}", error.what());
    }
    passed_.pop_front();
    // The next one has been at the next stage at most since this one came back.
    if (!passed_.empty()) {
      auto& next = passed_.front();
      next.deadline = std::max(next.deadline, Clock::now() + next.timeout);
    }
  }
}

void StageServer::take(net::Incoming in) {
  const auto kind = in.message.header.kind;
  if (kind == net::MessageKind::Forward && local_.index >= 0 && local_.index < run_.manifest.stages - 1) {
    begin_passed(std::move(in));
    return;
  }
  auto out = handlers_.dispatch(in);
  const bool aborted = kind == net::MessageKind::Abort && out.header.kind == net::MessageKind::Ack;
  answer(in, std::move(out));
  if (aborted) {  // the driver's Abort: its passed Forwards are answered now
    const auto attempt = net::AttemptRequest::decode(*net::unpack(in.message.payload)).attempt;
    fail_passed([&](const Passed& p) { return p.job.attempt == attempt; }, "step attempt was abandoned", nullptr);
  }
}

void StageServer::serve_once() {
  std::vector<zmq::pollitem_t> items{{server_.poll_handle(), 0, ZMQ_POLLIN, 0}};
  std::vector<PeerCalls::Links::Link*> polled;
  for (auto& [peer, link] : links_.all())
    if (link.client) {
      items.push_back({link.client->poll_handle(), 0, ZMQ_POLLIN, 0});
      polled.push_back(&link);
    }
  auto wait = std::chrono::milliseconds(200);
  if (!passed_.empty())
    wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(passed_.front().deadline - Clock::now()) + 1ms,
                      0ms, wait);
  zmq::poll(items.data(), items.size(), wait);
  for (std::size_t i = 0; i < polled.size(); ++i)
    if (items[i + 1].revents & ZMQ_POLLIN) links_.collect(*polled[i]);
  land_passed();
  if (!(items[0].revents & ZMQ_POLLIN)) return;
  if (auto in = server_.receive(0ms)) take(std::move(*in));
}

void StageServer::serve(const std::atomic<bool>& serving) {
  while (serving) {
    try {
      serve_once();
    } catch (const std::exception& error) {  // EINTR from a signal, a peer gone mid-reply
      spdlog::debug("stage server: {}", error.what());
    }
  }
  passed_.clear();  // unanswered: their senders time out, as they would with this node gone
  links_.all().clear();
}

}  // namespace tessera::node::swarm
