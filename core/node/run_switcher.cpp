// The switcher's sessions and its loop (see run_switcher.h).
#include "core/node/run_switcher.h"

#include <chrono>

#include <spdlog/spdlog.h>

namespace tessera::node {

struct RunSwitcher::Session {
  Target target;
  std::shared_ptr<SwarmNode> node;
  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};
  std::exception_ptr error;
  std::thread thread;
};

RunSwitcher::RunSwitcher(MakeNode make) : make_(std::move(make)) {}

RunSwitcher::~RunSwitcher() {
  std::unique_lock lock(mutex_);
  end_session(lock);
}

void RunSwitcher::join(const std::string& hub_url, const std::string& run, bool fatal) {
  std::lock_guard lock(mutex_);
  target_ = Target{hub_url, run, fatal};
  error_.clear();
  changed_.notify_all();
}

void RunSwitcher::leave() {
  std::lock_guard lock(mutex_);
  target_.reset();
  changed_.notify_all();
}

RunSwitcher::State RunSwitcher::state() const {
  std::lock_guard lock(mutex_);
  State out;
  out.error = error_;
  if (target_) out.target = target_->run.empty() ? target_->hub_url : target_->run;
  const auto* shown = session_ ? &session_->target : target_ ? &*target_ : nullptr;
  if (shown) {
    out.hub_url = shown->hub_url;
    out.run = shown->run;
  }
  if (session_) out.phase = leaving() ? Phase::leaving : Phase::in_run;
  else out.phase = target_ ? Phase::joining : Phase::idle;
  return out;
}

bool RunSwitcher::leaving() const {
  return session_->stop || !target_ || target_->hub_url != session_->target.hub_url;
}

std::shared_ptr<SwarmNode> RunSwitcher::node() const {
  std::lock_guard lock(mutex_);
  return session_ && !leaving() ? session_->node : nullptr;
}

void RunSwitcher::start_session(const Target& target) {
  auto session = std::make_unique<Session>();
  session->target = target;
  session->node = make_(target.hub_url);
  auto* s = session.get();
  s->thread = std::thread([this, s] {
    try {
      s->node->run(s->stop);
    } catch (...) {
      s->error = std::current_exception();
    }
    s->finished = true;
    std::lock_guard lock(mutex_);
    changed_.notify_all();
  });
  session_ = std::move(session);
  spdlog::info("joining {}", target.run.empty() ? target.hub_url : target.run);
}

void RunSwitcher::end_session(std::unique_lock<std::mutex>& lock) {
  if (!session_) return;
  auto* s = session_.get();
  s->stop = true;
  lock.unlock();  // leaving talks to the hub: status and requests go on meanwhile
  if (s->thread.joinable()) s->thread.join();
  lock.lock();
  if (s->error) {
    std::string message = "unknown error";
    try {
      std::rethrow_exception(s->error);
    } catch (const std::exception& error) {
      message = error.what();
    } catch (...) {
    }
    spdlog::error("run {}: {}", s->target.run.empty() ? s->target.hub_url : s->target.run, message);
    error_ = message;
    if (s->target.fatal) fatal_error_ = s->error;
  }
  session_.reset();
}

void RunSwitcher::run(const std::atomic<bool>& stop) {
  std::unique_lock lock(mutex_);
  while (!stop && !fatal_error_) {
    changed_.wait_for(lock, std::chrono::milliseconds(200));
    if (stop) break;
    if (session_ && session_->finished) {  // it ended by itself: joining failed, or its steps are done
      const auto ended = session_->target;
      end_session(lock);
      if (ended.fatal) break;  // the start run is over: so is the daemon, as before runs could switch
      if (target_ && target_->hub_url == ended.hub_url) target_.reset();
      continue;
    }
    const bool wanted = session_ && target_ && target_->hub_url == session_->target.hub_url;
    if (session_ && !wanted) {
      end_session(lock);
      continue;  // the target may have changed while the old run left
    }
    if (!session_ && target_) {
      try {
        start_session(*target_);
      } catch (const std::exception& error) {
        if (target_->fatal) {
          fatal_error_ = std::current_exception();
          break;
        }
        spdlog::error("cannot join {}: {}", target_->hub_url, error.what());
        error_ = error.what();
        target_.reset();
      }
    }
  }
  end_session(lock);
  if (fatal_error_) std::rethrow_exception(fatal_error_);
}

}  // namespace tessera::node
