// LabRun: the hub and nodes of a run as processes in network namespaces (lab_run.h).
#include "lab_run.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <QElapsedTimer>
#include <QFile>
#include <QRegularExpression>

#include <fstream>
#include <stdexcept>
#include <thread>

#include <httplib.h>

#include "core/protocol/hub_api.h"
#include "core/sys/unique_fd.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"
#include "core/wallet/keypair_file.h"
#include "tests/support/tiny_manifest.h"

namespace tessera::test {

void in_namespace(const std::string& netns, const std::function<void()>& work) {
  std::exception_ptr failure;
  std::thread([&] {
    try {
      const sys::UniqueFd ns(::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC));
      if (ns.get() < 0 || ::setns(ns.get(), CLONE_NEWNET) != 0) throw std::runtime_error("cannot enter " + netns);
      work();
    } catch (...) {
      failure = std::current_exception();
    }
  }).join();
  if (failure) std::rethrow_exception(failure);
}

LabRun::LabRun(int stages) {
  manifest_ = tiny_two_stage_manifest("lab-run");
  manifest_.stages = stages;
  manifest_.model.layers = stages;
  manifest_.codec = "none";
  manifest_.epoch_seconds = 5;
  manifest_.hub_key = publisher_.public_key();
  protocol::sign_manifest(manifest_, publisher_);
  const std::filesystem::path dir = dir_.path().toStdString();
  std::ofstream(dir / "manifest.json") << protocol::to_json(manifest_).dump();
  wallet::write_solana_keypair_file(dir / "publisher.json", publisher_);
}

LabRun::~LabRun() {
  for (auto& [name, process] : processes_) stop(process);
}

void LabRun::stop(Process& process) {
  if (!process.process || process.process->state() == QProcess::NotRunning) return;
  ::kill(static_cast<pid_t>(process.process->processId()), SIGTERM);
  if (!process.process->waitForFinished(10000)) {
    process.process->kill();
    process.process->waitForFinished(5000);
  }
}

std::string LabRun::start_hub(const std::string& netns, const std::string& address) {
  hub_netns_ = netns;
  hub_address_ = address;
  auto& hub = processes_["hub"];
  hub.netns = netns;
  hub.data_dir = std::filesystem::path(dir_.path().toStdString()) / "hub";
  std::filesystem::create_directories(hub.data_dir);
  hub.process = std::make_unique<QProcess>();
  hub.process->setProcessChannelMode(QProcess::MergedChannels);
  hub.process->setStandardOutputFile(QString::fromStdString((hub.data_dir / "output.log").string()));
  hub.process->start("ip", {"netns", "exec", QString::fromStdString(netns), TESSERA_HUB_BIN, "--data-dir",
                            QString::fromStdString(hub.data_dir.string()), "--listen",
                            QString::fromStdString(address) + ":8800", "--manifest", dir_.filePath("manifest.json"),
                            "--key", dir_.filePath("publisher.json"), "--check-rate", "0"});
  static const QRegularExpression linked(QStringLiteral("run link: (tessera://\\S+)"));
  QElapsedTimer timer;
  timer.start();
  while (timer.elapsed() < 30000 && hub.process->state() != QProcess::NotRunning) {
    hub.process->waitForFinished(100);
    if (const auto match = linked.match(output("hub")); match.hasMatch()) return link_ = match.captured(1).toStdString();
  }
  return {};
}

void LabRun::start_node(const std::string& name, const std::string& netns, const QStringList& extra) {
  auto& node = processes_[name];
  node.netns = netns;
  node.data_dir = std::filesystem::path(dir_.path().toStdString()) / name;
  std::filesystem::create_directories(node.data_dir);
  const auto key = wallet::load_or_create_node_key(node.data_dir / wallet::kNodeKeyFileName);
  const auto delegation = wallet::sign_delegation(owner_, key.public_key(), wallet::kAnyRun, 4102444800);
  std::ofstream(node.data_dir / "delegation.json") << delegation.to_json().dump();
  node.process = std::make_unique<QProcess>();
  node.process->setProcessChannelMode(QProcess::MergedChannels);
  node.process->setStandardOutputFile(QString::fromStdString((node.data_dir / "output.log").string()));
  node.process->start("ip", QStringList{"netns", "exec", QString::fromStdString(netns), TESSERA_NODE_BIN, "--data-dir",
                                        QString::fromStdString(node.data_dir.string()), "run", "--hub",
                                        QString::fromStdString(link_), "--threads", "1"} +
                                extra);
}

void LabRun::kill_node(const std::string& name) {
  auto& node = processes_.at(name);
  node.process->kill();
  node.process->waitForFinished(5000);
}

nlohmann::json LabRun::hub_get(const std::string& path) {
  nlohmann::json out;
  in_namespace(hub_netns_, [&] {
    httplib::SSLClient client(hub_address_, 8800);
    client.enable_server_certificate_verification(false);  // public figures only: nothing is trusted from here
    client.set_connection_timeout(3);
    client.set_read_timeout(5);
    if (const auto reply = client.Get(path.c_str()); reply && reply->status == 200)
      out = nlohmann::json::parse(reply->body, nullptr, false);
  });
  return out.is_discarded() ? nlohmann::json() : out;
}

std::uint64_t LabRun::steps() {
  const auto progress = hub_get(std::string(protocol::hub_api::kProgress) + "?since=0");
  return progress.is_object() && progress.contains("total") && progress["total"].is_number_unsigned()
             ? progress["total"].get<std::uint64_t>()
             : 0;
}

nlohmann::json LabRun::node_status(const std::string& name) {
  const auto& node = processes_.at(name);
  QProcess status;
  status.start("ip", {"netns", "exec", QString::fromStdString(node.netns), TESSERA_NODE_BIN, "--data-dir",
                      QString::fromStdString(node.data_dir.string()), "status", "--json"});
  if (!status.waitForFinished(10000) || status.exitCode() != 0) return nullptr;
  const auto parsed = nlohmann::json::parse(status.readAllStandardOutput().toStdString(), nullptr, false);
  return parsed.is_discarded() ? nlohmann::json() : parsed;
}

std::string LabRun::node_key_hex(const std::string& name) const {
  const auto key = wallet::load_or_create_node_key(processes_.at(name).data_dir / wallet::kNodeKeyFileName);
  return wallet::to_hex(key.public_key());
}

QString LabRun::output(const std::string& name) {
  auto& process = processes_.at(name);
  // Every process writes to a file: a pipe nobody drains would block it.
  QFile file(QString::fromStdString((process.data_dir / "output.log").string()));
  return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

QString LabRun::outputs() {
  QString all;
  for (auto& [name, process] : processes_) {
    const auto text = output(name);
    all += QString::fromStdString("---- " + name + " (last 6000 characters)\n") + text.right(6000) + "\n";
  }
  return all;
}

}  // namespace tessera::test
