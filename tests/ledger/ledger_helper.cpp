// A child process for the ledger suites (no Qt): the crash test's appender, and a way to open or
// fill a log as another user or under resource limits.
//   ledger_helper append FILE SEEDFILE     append forever from three threads; print "seq table marker"
//                                          for every acknowledged row, flushed after each batch
//   ledger_helper fill FILE SEEDFILE N     append N work rows (plus statements and revenue), exit 0
//   ledger_helper open FILE SEEDFILE       open for writing and append one event; errors on stderr, exit 1
// SEEDFILE holds the node key's 32-byte Ed25519 seed.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/ledger/ledger.h"

using namespace tessera;
using namespace tessera::ledger;

namespace {

wallet::KeyPair load_key(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> seed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return wallet::KeyPair::from_seed(seed);
}

WorkRecord work_row(std::int64_t marker) {
  WorkRecord r;
  r.at_ms = now_ms();
  r.session_id = "crash";
  r.run = "run-crash";
  r.step = marker;
  r.stage = 1;
  r.micro_batches = 2;
  r.tokens = 256;
  r.flops = 1e12;
  r.device_seconds = 0.1;
  r.energy_joules = 20;
  r.codec = "fp16";
  r.bytes_sent = 100;
  r.bytes_received = 100;
  r.receipt_ids = "r" + std::to_string(marker);
  return r;
}

int append_forever(LedgerWriter& writer) {
  std::mutex out;
  auto worker = [&](int thread) {
    std::mt19937_64 random(static_cast<std::uint64_t>(now_ms()) + static_cast<std::uint64_t>(thread));
    std::int64_t counter = 0;
    for (;;) {
      std::vector<Record> batch;
      std::vector<std::pair<const char*, std::int64_t>> markers;
      const int size = 1 + static_cast<int>(random() % 32);
      for (int i = 0; i < size; ++i) {
        const std::int64_t marker = (static_cast<std::int64_t>(thread) << 40) | counter++;
        const auto kind = random() % 10;
        if (kind == 0) {
          batch.push_back(RevenueRecord{0, "run-crash", marker, 5, "USDC", "inference"});
          markers.emplace_back("revenue", marker);
        } else if (kind == 1) {
          batch.push_back(EventRecord{0, "info", "run-crash", std::to_string(marker), ""});
          markers.emplace_back("events", marker);
        } else {
          batch.push_back(work_row(marker));
          markers.emplace_back("work", marker);
        }
      }
      const auto seqs = writer.append(std::move(batch));
      std::lock_guard lock(out);
      for (std::size_t i = 0; i < seqs.size(); ++i)
        std::printf("%lld %s %lld\n", static_cast<long long>(seqs[i]), markers[i].first,
                    static_cast<long long>(markers[i].second));
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back(worker, t);
  for (auto& thread : threads) thread.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: ledger_helper append|fill|open FILE SEEDFILE [N]\n";
    return 2;
  }
  const std::string mode = argv[1];
  try {
    const auto key = load_key(argv[3]);
    LedgerWriter writer(argv[2], key);
    if (mode == "append") return append_forever(writer);
    if (mode == "fill") {
      const std::int64_t rows = argc > 4 ? std::stoll(argv[4]) : 100;
      std::vector<Record> batch;
      for (std::int64_t i = 0; i < rows; ++i) batch.push_back(work_row(i));
      batch.push_back(RevenueRecord{0, "run-crash", 1, 300, "USDC", "inference"});
      batch.push_back(StatementRecord{0, "run-crash", 1, "owner", 1e15, 1e17, 280, "USDC", {}, {}, {}, true});
      writer.append(std::move(batch));
      std::cout << "ok\n";
      return 0;
    }
    if (mode == "open") {
      writer.append(EventRecord{0, "info", "", "opened by ledger_helper", ""});
      std::cout << "ok\n";
      return 0;
    }
    std::cerr << "unknown mode " << mode << "\n";
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
}
