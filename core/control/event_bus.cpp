// Bounded per-subscriber queues; publishers never wait on a subscriber.
#include "core/control/event_bus.h"

#include <algorithm>

namespace tessera::control {

std::optional<Event> EventBus::Subscription::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return closed_ || !queue_.empty(); });
  if (queue_.empty()) return std::nullopt;
  Event event = std::move(queue_.front());
  queue_.pop_front();
  return event;
}

void EventBus::Subscription::push(const Event& event) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() == capacity_) queue_.pop_front();
    queue_.push_back(event);
  }
  ready_.notify_all();
}

void EventBus::Subscription::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

EventBus::~EventBus() { close(); }

std::uint64_t EventBus::publish(std::string type, nlohmann::json data) {
  std::vector<std::shared_ptr<Subscription>> live;
  Event event;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return 0;
    event = Event{next_id_++, std::move(type), std::move(data)};
    std::erase_if(subscribers_, [](const auto& weak) { return weak.expired(); });
    for (const auto& weak : subscribers_)
      if (auto subscriber = weak.lock()) live.push_back(std::move(subscriber));
  }
  for (const auto& subscriber : live) subscriber->push(event);
  return event.id;
}

std::shared_ptr<EventBus::Subscription> EventBus::subscribe() {
  std::shared_ptr<Subscription> subscription(new Subscription(capacity_));
  std::lock_guard lock(mutex_);
  if (closed_) subscription->close();
  subscribers_.push_back(subscription);
  return subscription;
}

void EventBus::close() {
  std::vector<std::shared_ptr<Subscription>> live;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (const auto& weak : subscribers_)
      if (auto subscriber = weak.lock()) live.push_back(std::move(subscriber));
    subscribers_.clear();
  }
  for (const auto& subscriber : live) subscriber->close();
}

}  // namespace tessera::control
