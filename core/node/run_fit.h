// Whether this machine fits a run, and what it would earn there, before joining (docs/runs.md):
// pure functions of the run's catalog entry and what doctor measured. Every number is an estimate:
//   stage        the one the hub would assign: the least-served stage (fewest peers; the lowest
//                index on a tie) among those whose memory fits (hub::PeerDirectory::choose_stage);
//   memory       the stage's need against the device's memory (the GPU's on CUDA, RAM on the CPU),
//                or the node's memory limit when that is lower;
//   tokens/s     doctor's demo-model rate scaled by the ratio of training FLOPs per token,
//                demo_tokens_per_s × demo FLOPs/token ÷ stage FLOPs/token (the same utilisation
//                of the measured matmul rate on any model; no link, peer or pipeline stall counted);
//   units/day    tokens/s × stage FLOPs/token × 86,400 ÷ kFlopsPerUnit (every trained token verified);
//   revenue/day  a day's units U join the run's total_units T: U ÷ (T + U) of the last epoch's
//                revenue, times the epochs in a day (86,400 ÷ epoch_seconds).
#pragma once

#include <cstdint>
#include <string>

#include "core/control/run_views.h"
#include "core/node/doctor.h"
#include "core/protocol/run_catalog.h"

namespace tessera::node {

// This machine as the fit sees it.
struct MachineCapacity {
  double demo_tokens_per_s = 0;      // doctor's; 0: not measured
  double demo_flops_per_token = 0;   // what that rate is a rate of (demo_training_flops_per_token)
  std::uint64_t memory_bytes = 0;    // the device's memory
  std::string memory_of;             // "RAM" or "GPU cuda:N (name)"
  std::uint64_t memory_limit_bytes = 0;  // the node's memory limit setting; 0: none
};

// From doctor's report (its measured device) and the memory limit setting (0: none).
MachineCapacity machine_capacity(const DoctorReport& report, std::uint64_t memory_limit_bytes);

// `offer`: the run's catalog entry as protocol::run_catalog_entry_from_json checked it.
control::RunFit estimate_fit(const protocol::RunCatalogEntry& offer, const MachineCapacity& machine);

}  // namespace tessera::node
