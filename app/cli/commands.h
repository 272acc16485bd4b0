// The tessera-node commands; each adds its subcommand (and its callback) to the app.
#pragma once

namespace CLI {
class App;
}

namespace tessera::cli {

struct GlobalOptions;

void add_doctor_command(CLI::App& app, const GlobalOptions& global);
// `tessera-node log summary|verify|export` (core/ledger).
void add_log_command(CLI::App& app, const GlobalOptions& global);

// `tessera-node bench …`: the group each module's benchmark adds itself to (bench wallet, bench
// log, bench engine). Benchmarks print JSON and compare two ways of doing the same work.
CLI::App* add_bench_group(CLI::App& app);
void add_bench_settle(CLI::App& bench);

// `tessera-node wallet …` (app/cli/wallet_command.cpp).
void add_wallet_command(CLI::App& app, const GlobalOptions& global);
// `tessera-node bench wallet` (app/cli/bench_wallet.cpp).
void add_bench_wallet(CLI::App& bench);
// `tessera-node bench log`: append rate and roll-up vs raw dashboard queries.
void add_log_bench(CLI::App& bench);

// `tessera-node train`: the shard-training engine as an in-process pipeline (core/engine).
void add_train_command(CLI::App& app, const GlobalOptions& global);
// `tessera-node bench engine`: pipeline ratios, model-FLOPs utilisation and codecs.
void add_bench_engine_command(CLI::App& bench);

// `tessera-node run`: the contributor daemon (core/node/swarm_node.h) with its control API.
void add_run_command(CLI::App& app, const GlobalOptions& global);
// `tessera-node status`: the running node's state, run and traffic, through its control API.
void add_status_command(CLI::App& app, const GlobalOptions& global);
// `tessera-node runs …`: the runs the node knows, their fit, join/leave/switch (control API).
void add_runs_command(CLI::App& app, const GlobalOptions& global);
// `tessera-node demo`: an embedded hub and local peer processes train, then a summary.
void add_demo_command(CLI::App& app, const GlobalOptions& global);
// `tessera-node bench swarm`: multi-process vs in-process pipeline, codecs, limited links.
void add_bench_swarm_command(CLI::App& bench, const GlobalOptions& global);

// `tessera-node data propose RUN FILE`: a data shard offered to a run (app/cli/node_data_command.cpp).
void add_data_command(CLI::App& app, const GlobalOptions& global);

}  // namespace tessera::cli
