#include "policy/counter_store.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace gh::policy {

CounterKey& CounterKey::append(std::string_view s) {
  if (heap_.empty() && size_ + s.size() <= inline_.size()) {
    if (!s.empty()) std::memcpy(inline_.data() + size_, s.data(), s.size());
    size_ += s.size();
    return *this;
  }
  if (heap_.empty()) heap_.assign(inline_.data(), size_);
  heap_.append(s);
  return *this;
}

CounterKey& CounterKey::append_number(int64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  (void)ec;  // 24 bytes always hold an int64
  return append(std::string_view(buf, static_cast<size_t>(end - buf)));
}

namespace {

int64_t floor_div(int64_t a, int64_t b) noexcept {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t ceil_div_positive(int64_t a, int64_t b) noexcept {
  return a <= 0 ? 0 : (a + b - 1) / b;
}

/// A key to look up with its hash computed once (shard choice and bucket), without a std::string.
struct Lookup {
  std::string_view key;
  size_t hash;
};
size_t hash_of(std::string_view key) noexcept {
  return std::hash<std::string_view>{}(key);
}
struct KeyHash {
  using is_transparent = void;
  size_t operator()(const std::string& s) const noexcept { return hash_of(s); }
  size_t operator()(const Lookup& l) const noexcept { return l.hash; }
};
struct KeyEqual {
  using is_transparent = void;
  bool operator()(const std::string& a, const std::string& b) const noexcept { return a == b; }
  bool operator()(const Lookup& a, const std::string& b) const noexcept { return a.key == b; }
  bool operator()(const std::string& a, const Lookup& b) const noexcept { return a == b.key; }
};

constexpr int64_t kSlots = CounterStore::kRateSlots;

struct RateEntry {
  int64_t period_ms = 0;
  int64_t slot_ms = 1;
  int64_t head_slot = 0;  // the newest slot in the ring (slot s covers [s*slot_ms, (s+1)*slot_ms))
  int64_t total = 0;      // sum of counts
  int64_t newest_ms = 0;  // the newest call counted
  int64_t last_used_ms = 0;
  std::array<uint32_t, kSlots> counts{};
  // When the newest call of each slot came, from the slot's start (slot_ms < 2^16 for 300 s): a
  // slot counts until that call leaves the window, so a burst's Retry-After is exact.
  std::array<uint16_t, kSlots> newest_offset{};

  void reset(int64_t period, int64_t now) {
    *this = RateEntry{};
    period_ms = period;
    // kSlots - 1 slots span the period, so that the slots a window can touch fit in the ring.
    slot_ms = std::max<int64_t>(1, ceil_div_positive(period, kSlots - 1));
    head_slot = floor_div(now, slot_ms);
  }
  static size_t index(int64_t slot) {
    return static_cast<size_t>(((slot % kSlots) + kSlots) % kSlots);
  }
  uint32_t& at(int64_t slot) { return counts[index(slot)]; }
  int64_t newest_in(int64_t slot) const { return slot * slot_ms + newest_offset[index(slot)]; }

  /// Moves the ring to `now`; returns the time to use (never earlier than the newest slot, so a
  /// clock stepping back does not count into slots that were already cleared).
  int64_t advance(int64_t now) {
    int64_t slot = floor_div(now, slot_ms);
    if (slot <= head_slot) return std::max(now, head_slot * slot_ms);
    if (slot - head_slot >= kSlots) {
      counts.fill(0);
      newest_offset.fill(0);
      total = 0;
    } else {
      for (int64_t s = head_slot + 1; s <= slot; ++s) {
        total -= at(s);
        at(s) = 0;
        newest_offset[index(s)] = 0;
      }
    }
    head_slot = slot;
    return now;
  }
  /// Counts `amount` at `now` (after advance(now): in the head slot).
  void add(int64_t now, int64_t amount) {
    at(head_slot) += static_cast<uint32_t>(amount);
    total += amount;
    uint16_t& newest = newest_offset[index(head_slot)];
    newest = std::max(newest, static_cast<uint16_t>(now - head_slot * slot_ms));
    newest_ms = std::max(newest_ms, now);
  }
  /// The oldest slot that may hold a call of the window (now - period, now]: older ones lie
  /// wholly before it.
  int64_t oldest_slot(int64_t now) const {
    return std::max(floor_div(now - period_ms, slot_ms), head_slot - kSlots + 1);
  }
  /// Whether slot s (from oldest_slot(now) on) still counts: its newest call is in the window.
  bool counts_at(int64_t s, int64_t now) const { return newest_in(s) + period_ms > now; }
  int64_t counted(int64_t now) {
    int64_t n = total;
    int64_t oldest = oldest_slot(now);
    for (int64_t s = head_slot - kSlots + 1; s < oldest; ++s)
      n -= at(s);
    if (!counts_at(oldest, now)) n -= at(oldest);
    return n;
  }
  bool idle(int64_t now) const { return total == 0 || newest_ms + period_ms <= now; }
  /// Milliseconds until `excess` units have left the window.
  int64_t wait_for(int64_t excess, int64_t now) {
    int64_t seen = 0;
    for (int64_t s = oldest_slot(now); s <= head_slot; ++s) {
      if (!counts_at(s, now)) continue;
      seen += at(s);
      if (seen >= excess) return newest_in(s) + period_ms - now;
    }
    return period_ms;  // more than the window can ever hold
  }
};

struct QuotaEntry {
  int64_t start_ms = 0;
  int64_t period_ms = 0;
  int64_t index = 0;
  int64_t calls = 0;
  int64_t bytes = 0;
  int64_t last_used_ms = 0;

  int64_t index_at(int64_t now) const {
    return period_ms == 0 ? 0 : floor_div(now - start_ms, period_ms);
  }
  void roll(int64_t now) {
    int64_t i = index_at(now);
    if (i > index) {
      index = i;
      calls = 0;
      bytes = 0;
    }
  }
  bool idle(int64_t now) const {
    return (calls == 0 && bytes == 0) || (period_ms != 0 && index_at(now) > index);
  }
};

using RateMap = std::unordered_map<std::string, RateEntry, KeyHash, KeyEqual>;
using QuotaMap = std::unordered_map<std::string, QuotaEntry, KeyHash, KeyEqual>;

/// Makes room for one more entry: drops idle entries, then the least recently used ones, down to
/// 7/8 of the cap so that a flood of new keys pays for a scan only once per cap/8 inserts.
template <typename Map>
uint64_t make_room(Map& map, size_t cap, int64_t now) {
  if (map.size() < cap) return 0;
  std::erase_if(map, [now](const auto& kv) { return kv.second.idle(now); });
  size_t target = cap - std::max<size_t>(1, cap / 8);
  if (map.size() <= target) return 0;
  std::vector<typename Map::iterator> all;
  all.reserve(map.size());
  for (auto it = map.begin(); it != map.end(); ++it)
    all.push_back(it);
  size_t drop = map.size() - target;
  std::nth_element(
      all.begin(), all.begin() + static_cast<std::ptrdiff_t>(drop - 1), all.end(),
      [](const auto& a, const auto& b) { return a->second.last_used_ms < b->second.last_used_ms; });
  for (size_t i = 0; i < drop; ++i)
    map.erase(all[i]);
  return drop;
}

}  // namespace

// One lock per shard: the critical sections are a hash lookup and a few additions.
struct alignas(64) CounterStore::Shard {
  std::mutex mu;  // guards rates, quotas, evictions
  RateMap rates;
  QuotaMap quotas;
  uint64_t evictions = 0;
};

CounterStore::CounterStore(const core::Clock& clock, CounterStoreLimits limits)
    : clock_(clock), limits_(limits) {
  size_t shards = std::bit_ceil(std::max<size_t>(1, limits_.shards));
  shard_mask_ = shards - 1;
  rate_cap_per_shard_ = std::max<size_t>(1, limits_.max_rate_counters / shards);
  quota_cap_per_shard_ = std::max<size_t>(1, limits_.max_quota_counters / shards);
  shards_ = std::make_unique<Shard[]>(shards);
}

CounterStore::~CounterStore() = default;

CounterStore::Shard& CounterStore::shard_for(size_t hash) const noexcept {
  // The maps use the hash's low bits for buckets; shards take a multiplicative mix of all bits.
  uint64_t mixed = static_cast<uint64_t>(hash) * 0x9E3779B97F4A7C15ULL;
  return shards_[static_cast<size_t>(mixed >> 40) & shard_mask_];
}

int64_t CounterStore::now_ms() const noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch())
      .count();
}

namespace {

template <typename Map>
typename Map::mapped_type* find_entry(Map& map, const Lookup& l) {
  auto it = map.find(l);
  return it == map.end() ? nullptr : &it->second;
}

}  // namespace

CounterStore::RateResult CounterStore::acquire_rate(std::string_view key, int64_t limit,
                                                    int64_t period_seconds, int64_t amount) {
  int64_t now = now_ms();
  int64_t period_ms = std::clamp<int64_t>(period_seconds, 1, kMaxRatePeriodSeconds) * 1000;
  amount = std::max<int64_t>(0, amount);
  Lookup l{key, hash_of(key)};
  Shard& sh = shard_for(l.hash);
  std::lock_guard lock(sh.mu);
  RateEntry* e = find_entry(sh.rates, l);
  if (e == nullptr) {
    sh.evictions += make_room(sh.rates, rate_cap_per_shard_, now);
    e = &sh.rates.emplace(std::string(key), RateEntry{}).first->second;
    e->reset(period_ms, now);
  } else if (e->period_ms != period_ms) {
    e->reset(period_ms, now);
  }
  now = e->advance(now);
  e->last_used_ms = now;
  int64_t count = e->counted(now);
  RateResult r;
  if (count + amount <= limit) {
    // A slot holds at most `limit` units (policies bound limits to int32).
    e->add(now, amount);
    r.admitted = true;
    r.remaining = limit - count - amount;
    r.at_ms = now;
    return r;
  }
  r.remaining = std::max<int64_t>(0, limit - count);
  int64_t wait_ms = amount > limit ? period_ms : e->wait_for(count + amount - limit, now);
  r.retry_after_seconds = std::max<int64_t>(1, ceil_div_positive(wait_ms, 1000));
  return r;
}

void CounterStore::release_rate(std::string_view key, int64_t period_seconds, int64_t amount,
                                int64_t at_ms) {
  int64_t now = now_ms();
  int64_t period_ms = std::clamp<int64_t>(period_seconds, 1, kMaxRatePeriodSeconds) * 1000;
  Lookup l{key, hash_of(key)};
  Shard& sh = shard_for(l.hash);
  std::lock_guard lock(sh.mu);
  RateEntry* e = find_entry(sh.rates, l);
  if (e == nullptr || e->period_ms != period_ms || amount <= 0) return;
  now = e->advance(now);
  int64_t slot = floor_div(at_ms, e->slot_ms);
  if (slot < e->oldest_slot(now) || slot > e->head_slot || !e->counts_at(slot, now)) return;
  uint32_t& c = e->at(slot);
  uint32_t take = static_cast<uint32_t>(std::min<int64_t>(amount, c));
  c -= take;
  e->total -= take;
}

int64_t CounterStore::rate_count(std::string_view key, int64_t period_seconds) {
  int64_t now = now_ms();
  int64_t period_ms = std::clamp<int64_t>(period_seconds, 1, kMaxRatePeriodSeconds) * 1000;
  Lookup l{key, hash_of(key)};
  Shard& sh = shard_for(l.hash);
  std::lock_guard lock(sh.mu);
  RateEntry* e = find_entry(sh.rates, l);
  if (e == nullptr || e->period_ms != period_ms) return 0;
  now = e->advance(now);
  return e->counted(now);
}

namespace {

/// The entry for `l` in its current window, created (or reset when its window geometry changed).
QuotaEntry& quota_entry(QuotaMap& map, const Lookup& l, CounterStore::QuotaPeriod p, int64_t now,
                        size_t cap, uint64_t& evictions) {
  int64_t start_ms = p.start_unix * 1000;
  int64_t period_ms = std::max<int64_t>(0, p.period_seconds) * 1000;
  QuotaEntry* e = find_entry(map, l);
  if (e == nullptr) {
    evictions += make_room(map, cap, now);
    e = &map.emplace(std::string(l.key), QuotaEntry{}).first->second;
  } else if (e->start_ms == start_ms && e->period_ms == period_ms) {
    e->roll(now);
    e->last_used_ms = now;
    return *e;
  }
  *e = QuotaEntry{};
  e->start_ms = start_ms;
  e->period_ms = period_ms;
  e->index = e->index_at(now);
  e->last_used_ms = now;
  return *e;
}

}  // namespace

CounterStore::QuotaResult CounterStore::acquire_quota(std::string_view key, QuotaPeriod period,
                                                      QuotaLimits limits, int64_t calls) {
  int64_t now = now_ms();
  calls = std::max<int64_t>(0, calls);
  Lookup l{key, hash_of(key)};
  Shard& sh = shard_for(l.hash);
  std::lock_guard lock(sh.mu);
  QuotaEntry& e = quota_entry(sh.quotas, l, period, now, quota_cap_per_shard_, sh.evictions);
  QuotaResult r;
  r.period_index = e.index;
  if (e.period_ms != 0) {
    int64_t end_ms = e.start_ms + (e.index + 1) * e.period_ms;
    r.seconds_to_renewal = std::max<int64_t>(1, ceil_div_positive(end_ms - now, 1000));
  }
  if (limits.calls > 0 && e.calls + calls > limits.calls) {
    r.outcome = QuotaResult::Outcome::CallsExceeded;
  } else if (limits.bytes > 0 && e.bytes >= limits.bytes) {
    r.outcome = QuotaResult::Outcome::BandwidthExceeded;
  } else {
    e.calls += calls;
  }
  r.calls_remaining = limits.calls > 0 ? std::max<int64_t>(0, limits.calls - e.calls) : 0;
  return r;
}

void CounterStore::add_quota_usage(std::string_view key, QuotaPeriod period, int64_t period_index,
                                   int64_t calls_delta, int64_t bytes) {
  int64_t now = now_ms();
  Lookup l{key, hash_of(key)};
  Shard& sh = shard_for(l.hash);
  std::lock_guard lock(sh.mu);
  QuotaEntry* e = find_entry(sh.quotas, l);
  if (e == nullptr || e->start_ms != period.start_unix * 1000 ||
      e->period_ms != std::max<int64_t>(0, period.period_seconds) * 1000)
    return;
  e->roll(now);
  if (e->index != period_index) return;
  e->calls = std::max<int64_t>(0, e->calls + calls_delta);
  e->bytes = std::max<int64_t>(0, e->bytes + bytes);
}

CounterStore::QuotaUsage CounterStore::quota_usage(std::string_view key, QuotaPeriod period) {
  int64_t now = now_ms();
  Lookup l{key, hash_of(key)};
  Shard& sh = shard_for(l.hash);
  std::lock_guard lock(sh.mu);
  QuotaEntry* e = find_entry(sh.quotas, l);
  if (e == nullptr || e->start_ms != period.start_unix * 1000 ||
      e->period_ms != std::max<int64_t>(0, period.period_seconds) * 1000)
    return {};
  e->roll(now);
  return {e->calls, e->bytes};
}

CounterStore::Stats CounterStore::stats() const {
  Stats s;
  for (size_t i = 0; i <= shard_mask_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    s.rate_counters += shards_[i].rates.size();
    s.quota_counters += shards_[i].quotas.size();
    s.evictions += shards_[i].evictions;
  }
  return s;
}

void CounterStore::sweep() {
  int64_t now = now_ms();
  for (size_t i = 0; i <= shard_mask_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    std::erase_if(shards_[i].rates, [now](const auto& kv) { return kv.second.idle(now); });
    std::erase_if(shards_[i].quotas, [now](const auto& kv) { return kv.second.idle(now); });
  }
}

}  // namespace gh::policy
