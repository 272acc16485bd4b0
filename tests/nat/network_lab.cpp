// NetworkLab: the switch, hosts, NAT routers with miniupnpd, the STUN responder (network_lab.h).
#include "network_lab.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tessera::test {
namespace {

constexpr int kCommandTimeoutMs = 10000;
constexpr std::uint16_t kStunPort = 3478;
constexpr const char* kSwitchAddress = "198.51.100.254";

// A router's firewall: miniupnpd's chains (its default table "filter", family inet) hooked in where
// a home router has them; LAN traffic goes out masqueraded, other forwarded traffic only where
// miniupnpd added an accept rule.
constexpr const char* kRouterRuleset = R"(table inet filter {
  chain miniupnpd {
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan0" oifname "wan0" accept
    jump miniupnpd
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "wan0" ip saddr 192.0.2.0/24 masquerade
  }
}
)";

std::string miniupnpd_config(const QString& directory, std::size_t index) {
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "3d3cec3a-8cf0-11e0-98ee-001a6b5a%04zx", index);
  return "ext_ifname=wan0\n"
         "listening_ip=lan0\n"
         "enable_upnp=yes\n"
         "enable_natpmp=yes\n"
         "secure_mode=yes\n"
         "ext_perform_stun=yes\n"
         "ext_stun_host=" + std::string(kSwitchAddress) + "\n"
         "ext_stun_port=3478\n"
         "minissdpdsocket=" + (directory + "/minissdpd.sock").toStdString() + "\n"
         "uuid=" + uuid + "\n"
         "allow 1024-65535 192.0.2.0/24 1024-65535\n"
         "deny 0-65535 0.0.0.0/0 0-65535\n";
}

void write_file(const QString& path, const std::string& text) {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly) || file.write(text.data(), static_cast<qint64>(text.size())) < 0)
    throw std::runtime_error("cannot write " + path.toStdString());
}

sockaddr_in ipv4(const std::string& address, std::uint16_t port) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &out.sin_addr);
  return out;
}

bool readable(int fd, int timeout_ms) {
  pollfd entry{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&entry, 1, timeout_ms) == 1;
}

// A STUN Binding success response (RFC 5389) carrying the sender's address as XOR-MAPPED-ADDRESS.
std::array<std::uint8_t, 32> stun_answer(const std::uint8_t* request, const sockaddr_in& sender) {
  std::array<std::uint8_t, 32> answer{};
  answer[0] = 0x01;
  answer[1] = 0x01;
  answer[3] = 12;
  std::memcpy(answer.data() + 4, request + 4, 16);  // magic cookie and transaction id
  answer[21] = 0x20;
  answer[23] = 8;
  answer[25] = 0x01;
  const std::uint16_t port = ntohs(sender.sin_port) ^ 0x2112;
  const std::uint32_t address = ntohl(sender.sin_addr.s_addr) ^ 0x2112A442u;
  answer[26] = static_cast<std::uint8_t>(port >> 8);
  answer[27] = static_cast<std::uint8_t>(port);
  for (int i = 0; i < 4; ++i) answer[28 + i] = static_cast<std::uint8_t>(address >> (24 - 8 * i));
  return answer;
}

}  // namespace

NetworkLab::NetworkLab(std::string tag) : tag_(std::move(tag)) {
  if (!directory_.isValid()) throw std::runtime_error("cannot create a temporary folder");
  switch_ = make_namespace("switch");
  run("ip", {"-n", QString::fromStdString(switch_), "link", "add", "br0", "type", "bridge"});
  run("ip", {"-n", QString::fromStdString(switch_), "addr", "add", QString(kSwitchAddress) + "/24", "dev", "br0"});
  run("ip", {"-n", QString::fromStdString(switch_), "link", "set", "br0", "up"});
  start_stun_responder();
}

NetworkLab::~NetworkLab() {
  for (auto& process : miniupnpd_) {
    if (process->state() == QProcess::NotRunning) continue;
    ::kill(static_cast<pid_t>(process->processId()), SIGTERM);
    if (!process->waitForFinished(5000)) {
      ::kill(static_cast<pid_t>(process->processId()), SIGKILL);
      process->waitForFinished(2000);
    }
  }
  stopping_ = true;
  if (stun_thread_.joinable()) stun_thread_.join();
  for (auto name = created_.rbegin(); name != created_.rend(); ++name) {
    QProcess remove;
    remove.start("ip", {"netns", "del", QString::fromStdString(*name)});
    remove.waitForFinished(kCommandTimeoutMs);
  }
}

void NetworkLab::run(const QString& program, const QStringList& arguments) {
  QProcess process;
  process.start(program, arguments);
  const bool finished = process.waitForFinished(kCommandTimeoutMs);
  if (finished && process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0) return;
  throw std::runtime_error((program + " " + arguments.join(' ')).toStdString() + " failed: " +
                           (finished ? process.readAllStandardError().toStdString() : std::string("timed out")));
}

std::string NetworkLab::make_namespace(const std::string& name) {
  const auto netns = "tessera-" + tag_ + "-" + name + "-" + std::to_string(::getpid());
  run("ip", {"netns", "add", QString::fromStdString(netns)});
  created_.push_back(netns);
  run("ip", {"-n", QString::fromStdString(netns), "link", "set", "lo", "up"});
  return netns;
}

// A veth pair: `device` in `netns` at address/24, its peer on the switch's bridge.
std::string NetworkLab::plug(const std::string& netns, const std::string& device, const std::string& address) {
  const QString ns = QString::fromStdString(netns), dev = QString::fromStdString(device);
  const QString port = QStringLiteral("p%1").arg(next_link_++);
  const QString sw = QString::fromStdString(switch_);
  run("ip", {"-n", sw, "link", "add", port, "type", "veth", "peer", "name", dev, "netns", ns});
  run("ip", {"-n", sw, "link", "set", port, "master", "br0"});
  run("ip", {"-n", sw, "link", "set", port, "up"});
  run("ip", {"-n", ns, "addr", "add", QString::fromStdString(address) + "/24", "dev", dev});
  run("ip", {"-n", ns, "link", "set", dev, "up"});
  return netns;
}

std::string NetworkLab::add_host(const std::string& name, const std::string& address) {
  return plug(make_namespace(name), "eth0", address);
}

NetworkLab::Home NetworkLab::add_home(const std::string& name, const std::string& router_address, bool upnp) {
  Home home;
  home.router_address = router_address;
  home.router = plug(make_namespace(name + "-router"), "wan0", router_address);
  home.host = make_namespace(name);
  const QString router = QString::fromStdString(home.router), host = QString::fromStdString(home.host);
  run("ip", {"-n", router, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", host});
  run("ip", {"-n", router, "addr", "add", QString(kLanRouterAddress) + "/24", "dev", "lan0"});
  run("ip", {"-n", router, "link", "set", "lan0", "up"});
  run("ip", {"-n", host, "addr", "add", QString(kLanHostAddress) + "/24", "dev", "eth0"});
  run("ip", {"-n", host, "link", "set", "eth0", "up"});
  run("ip", {"-n", host, "route", "add", "default", "via", kLanRouterAddress});
  run("ip", {"netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"});
  const QString ruleset = directory_.filePath(QString::fromStdString(home.router) + ".nft");
  write_file(ruleset, kRouterRuleset);
  run("ip", {"netns", "exec", router, "nft", "-f", ruleset});
  if (upnp) start_miniupnpd(home);
  return home;
}

void NetworkLab::start_stun_responder() {
  stun_socket_ = std::make_unique<sys::UniqueFd>(socket_in(switch_, SOCK_DGRAM));
  const sockaddr_in address = ipv4(kSwitchAddress, kStunPort);
  if (::bind(stun_socket_->get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    throw std::runtime_error(std::string("cannot bind the STUN responder: ") + std::strerror(errno));
  stun_thread_ = std::thread([this, fd = stun_socket_->get()] { stun_loop(fd); });
}

void NetworkLab::stun_loop(int fd) {
  std::array<std::uint8_t, 1500> request{};
  while (!stopping_) {
    if (!readable(fd, 100)) continue;
    sockaddr_in sender{};
    socklen_t size = sizeof sender;
    const ssize_t length = ::recvfrom(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&sender), &size);
    if (length < 20 || request[0] != 0x00 || request[1] != 0x01) continue;  // not a Binding Request
    const auto answer = stun_answer(request.data(), sender);
    ::sendto(fd, answer.data(), answer.size(), 0, reinterpret_cast<const sockaddr*>(&sender), size);
  }
}

void NetworkLab::start_miniupnpd(Home& home) {
  home.miniupnpd = miniupnpd_.size();
  const QString folder = directory_.filePath(QString::fromStdString(home.router));
  QDir().mkpath(folder);
  const QString config = folder + "/miniupnpd.conf";
  write_file(config, miniupnpd_config(folder, home.miniupnpd));
  auto process = std::make_unique<QProcess>();
  process->setProcessChannelMode(QProcess::MergedChannels);
  // `ip netns exec` execs the program, so the process's PID is miniupnpd's own.
  process->start("ip", {"netns", "exec", QString::fromStdString(home.router), "/usr/sbin/miniupnpd", "-d", "-f", config,
                        "-P", folder + "/miniupnpd.pid"});
  if (!process->waitForStarted(kCommandTimeoutMs)) throw std::runtime_error("cannot start /usr/sbin/miniupnpd");
  miniupnpd_.push_back(std::move(process));
  miniupnpd_output_.emplace_back();
  const QDeadlineTimer deadline(kCommandTimeoutMs);
  while (miniupnpd_log(home).find("Listening for NAT-PMP") == std::string::npos) {
    if (deadline.hasExpired() || miniupnpd_[home.miniupnpd]->state() == QProcess::NotRunning)
      throw std::runtime_error("miniupnpd did not come up:\n" + miniupnpd_log(home));
    miniupnpd_[home.miniupnpd]->waitForReadyRead(100);
  }
}

std::string NetworkLab::miniupnpd_log(const Home& home) {
  if (home.miniupnpd >= miniupnpd_.size()) return {};
  miniupnpd_output_[home.miniupnpd] += miniupnpd_[home.miniupnpd]->readAll().toStdString();
  return miniupnpd_output_[home.miniupnpd];
}

std::string NetworkLab::miniupnpd_redirects(const Home& home) {
  QProcess list;
  list.start("ip", {"netns", "exec", QString::fromStdString(home.router), "nft", "list", "chain", "inet", "filter",
                    "prerouting_miniupnpd"});
  list.waitForFinished(kCommandTimeoutMs);
  return list.readAllStandardOutput().toStdString();
}

sys::UniqueFd socket_in(const std::string& netns, int type) {
  int fd = -1;
  int error = 0;
  std::thread([&] {
    const sys::UniqueFd ns(::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC));
    if (ns.get() < 0 || ::setns(ns.get(), CLONE_NEWNET) != 0) {
      error = errno;
      return;
    }
    fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    error = errno;
  }).join();
  if (fd < 0) throw std::runtime_error("cannot open a socket in " + netns + ": " + std::strerror(error));
  return sys::UniqueFd(fd);
}

}  // namespace tessera::test
