// Insertion-ordered set and map with a capacity: at capacity, inserting a new key evicts the
// oldest. What a peer's messages can make the swarm node remember (abandoned attempts, verified
// credentials, suspects) lives in one of these, so no peer can grow the node's memory.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <utility>

namespace tessera::node::swarm {

template <typename Key, typename Value>
class BoundedMap {
 public:
  explicit BoundedMap(std::size_t capacity) : capacity_(capacity) {}

  Value* find(const Key& key) {
    const auto found = items_.find(key);
    return found == items_.end() ? nullptr : &found->second;
  }
  const Value* find(const Key& key) const {
    const auto found = items_.find(key);
    return found == items_.end() ? nullptr : &found->second;
  }
  bool contains(const Key& key) const { return items_.count(key) != 0; }
  // Inserts or replaces; a new key at capacity evicts the oldest key first.
  Value& put(const Key& key, Value value) {
    if (auto* existing = find(key)) return *existing = std::move(value);
    while (items_.size() >= capacity_ && !order_.empty()) {
      items_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    return items_.emplace(key, std::move(value)).first->second;
  }
  void erase(const Key& key) {
    if (items_.erase(key) == 0) return;
    for (auto it = order_.begin(); it != order_.end(); ++it)
      if (*it == key) {
        order_.erase(it);
        break;
      }
  }
  // Drops the entries `stale` selects.
  template <typename Stale>
  void erase_if(const Stale& stale) {
    for (auto it = order_.begin(); it != order_.end();) {
      const auto found = items_.find(*it);
      if (stale(found->first, found->second)) {
        items_.erase(found);
        it = order_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Removes and returns the oldest entry (nothing when empty).
  std::optional<std::pair<Key, Value>> pop_oldest() {
    if (order_.empty()) return std::nullopt;
    const auto found = items_.find(order_.front());
    std::pair<Key, Value> out{found->first, std::move(found->second)};
    items_.erase(found);
    order_.pop_front();
    return out;
  }
  void clear() {
    items_.clear();
    order_.clear();
  }
  std::size_t size() const { return items_.size(); }
  std::size_t capacity() const { return capacity_; }
  const std::map<Key, Value>& items() const { return items_; }

 private:
  std::size_t capacity_;
  std::map<Key, Value> items_;
  std::deque<Key> order_;  // insertion order, oldest first
};

template <typename Key>
class BoundedSet {
 public:
  explicit BoundedSet(std::size_t capacity) : items_(capacity) {}
  void insert(const Key& key) {
    if (!items_.contains(key)) items_.put(key, true);
  }
  bool contains(const Key& key) const { return items_.contains(key); }
  std::size_t size() const { return items_.size(); }
  std::size_t capacity() const { return items_.capacity(); }

 private:
  BoundedMap<Key, bool> items_;
};

}  // namespace tessera::node::swarm
