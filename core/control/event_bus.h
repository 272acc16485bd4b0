// Events the node tells its watchers about (status changes, joins, pauses, errors): a bounded,
// thread-safe fan-out from the node to any number of subscribers (the control API's event stream).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::control {

struct Event {
  std::uint64_t id = 0;        // increasing, so a watcher can tell it missed some
  std::string type;            // "status", "joined", "paused", "error", ...
  nlohmann::json data;
};

class EventBus {
 public:
  class Subscription {
   public:
    // The next event, or nothing after `timeout` or once the bus is closed.
    std::optional<Event> next(std::chrono::milliseconds timeout);

   private:
    friend class EventBus;
    explicit Subscription(std::size_t capacity) : capacity_(capacity) {}
    void push(const Event& event);
    void close();

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<Event> queue_;
    std::size_t capacity_;
    bool closed_ = false;
  };

  explicit EventBus(std::size_t per_subscriber_capacity = 256) : capacity_(per_subscriber_capacity) {}
  ~EventBus();

  std::uint64_t publish(std::string type, nlohmann::json data);
  // A slow subscriber loses its oldest events, never blocks the node.
  std::shared_ptr<Subscription> subscribe();
  void close();  // wakes every subscriber; later publishes are dropped

 private:
  std::mutex mutex_;
  std::vector<std::weak_ptr<Subscription>> subscribers_;
  std::uint64_t next_id_ = 1;
  std::size_t capacity_;
  bool closed_ = false;
};

}  // namespace tessera::control
