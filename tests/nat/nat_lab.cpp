// NatLab, sockets in a namespace, the echo server and the client exchange (see nat_lab.h).
#include "nat_lab.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QDeadlineTimer>
#include <QFile>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tessera::test {
namespace {

constexpr int kCommandTimeoutMs = 10000;
constexpr std::uint16_t kStunPort = 3478;

// The router's firewall: miniupnpd's chains (its default table "filter", family inet) hooked in
// where a home router has them; LAN traffic goes out masqueraded, other forwarded traffic only
// where miniupnpd added an accept rule.
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

std::string miniupnpd_config(const QString& directory) {
  return "ext_ifname=wan0\n"
         "listening_ip=lan0\n"
         "enable_upnp=yes\n"
         "enable_natpmp=yes\n"
         "secure_mode=yes\n"
         "ext_perform_stun=yes\n"
         "ext_stun_host=198.51.100.2\n"
         "ext_stun_port=3478\n"
         "minissdpdsocket=" + (directory + "/minissdpd.sock").toStdString() + "\n"
         "uuid=3d3cec3a-8cf0-11e0-98ee-001a6b5a7d00\n"
         "allow 1024-65535 192.0.2.0/24 1024-65535\n"
         "deny 0-65535 0.0.0.0/0 0-65535\n";
}

void write_file(const QString& path, const std::string& text) {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly) || file.write(text.data(), static_cast<qint64>(text.size())) != static_cast<qint64>(text.size()))
    throw std::runtime_error("cannot write " + path.toStdString());
}

sockaddr_in ipv4(const std::string& address, std::uint16_t port) {
  sockaddr_in result{};
  result.sin_family = AF_INET;
  result.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &result.sin_addr) != 1) throw std::runtime_error("not an IPv4 address: " + address);
  return result;
}

bool wait_for(int fd, short events, int timeout_ms) {
  pollfd entry{.fd = fd, .events = events, .revents = 0};
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

NatLab::NatLab() {
  const std::string suffix = std::to_string(::getpid());
  wan_ = "tessera-nat-wan-" + suffix;
  router_ = "tessera-nat-router-" + suffix;
  home_ = "tessera-nat-home-" + suffix;
}

NatLab::~NatLab() {
  if (miniupnpd_ && miniupnpd_->state() != QProcess::NotRunning) {
    ::kill(static_cast<pid_t>(miniupnpd_->processId()), SIGTERM);
    if (!miniupnpd_->waitForFinished(5000)) {
      ::kill(static_cast<pid_t>(miniupnpd_->processId()), SIGKILL);
      miniupnpd_->waitForFinished(2000);
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

void NatLab::start(bool with_miniupnpd) {
  if (!directory_.isValid()) throw std::runtime_error("cannot create a temporary folder");
  build_namespaces();
  if (with_miniupnpd) {
    start_stun_responder();
    start_miniupnpd();
  }
}

void NatLab::run(const QString& program, const QStringList& arguments) {
  QProcess process;
  process.start(program, arguments);
  const bool finished = process.waitForFinished(kCommandTimeoutMs);
  if (finished && process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0) return;
  throw std::runtime_error((program + " " + arguments.join(' ')).toStdString() + " failed: " +
                           (finished ? process.readAllStandardError().toStdString() : std::string("timed out")));
}

void NatLab::build_namespaces() {
  const QString wan = QString::fromStdString(wan_), router = QString::fromStdString(router_),
                home = QString::fromStdString(home_);
  for (const std::string& name : {wan_, router_, home_}) {
    run("ip", {"netns", "add", QString::fromStdString(name)});
    created_.push_back(name);
    run("ip", {"-n", QString::fromStdString(name), "link", "set", "lo", "up"});
  }
  run("ip", {"-n", router, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", wan});
  run("ip", {"-n", router, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", home});
  const std::array<std::array<QString, 3>, 4> addresses{{{router, "wan0", "198.51.100.1/24"},
                                                         {router, "lan0", "192.0.2.1/24"},
                                                         {wan, "eth0", "198.51.100.2/24"},
                                                         {home, "eth0", "192.0.2.2/24"}}};
  for (const auto& [netns, device, address] : addresses) {
    run("ip", {"-n", netns, "addr", "add", address, "dev", device});
    run("ip", {"-n", netns, "link", "set", device, "up"});
  }
  run("ip", {"-n", home, "route", "add", "default", "via", "192.0.2.1"});
  run("ip", {"netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"});
  const QString ruleset = directory_.filePath("router.nft");
  write_file(ruleset, kRouterRuleset);
  run("ip", {"netns", "exec", router, "nft", "-f", ruleset});
}

void NatLab::start_stun_responder() {
  stun_socket_ = std::make_unique<sys::UniqueFd>(socket_in(wan_, SOCK_DGRAM));
  const sockaddr_in address = ipv4("198.51.100.2", kStunPort);
  if (::bind(stun_socket_->get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    throw std::runtime_error(std::string("cannot bind the STUN responder: ") + std::strerror(errno));
  stun_thread_ = std::thread([this, fd = stun_socket_->get()] { stun_loop(fd); });
}

void NatLab::stun_loop(int fd) {
  std::array<std::uint8_t, 1500> request{};
  while (!stopping_) {
    if (!wait_for(fd, POLLIN, 100)) continue;
    sockaddr_in sender{};
    socklen_t size = sizeof sender;
    const ssize_t length = ::recvfrom(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&sender), &size);
    if (length < 20 || request[0] != 0x00 || request[1] != 0x01) continue;  // not a Binding Request
    const auto answer = stun_answer(request.data(), sender);
    ::sendto(fd, answer.data(), answer.size(), 0, reinterpret_cast<const sockaddr*>(&sender), size);
  }
}

void NatLab::start_miniupnpd() {
  const QString config = directory_.filePath("miniupnpd.conf");
  write_file(config, miniupnpd_config(directory_.path()));
  miniupnpd_ = std::make_unique<QProcess>();
  miniupnpd_->setProcessChannelMode(QProcess::MergedChannels);
  // `ip netns exec` execs the program, so the process's PID is miniupnpd's own.
  miniupnpd_->start("ip", {"netns", "exec", QString::fromStdString(router_), "/usr/sbin/miniupnpd", "-d", "-f", config,
                           "-P", directory_.filePath("miniupnpd.pid")});
  if (!miniupnpd_->waitForStarted(kCommandTimeoutMs)) throw std::runtime_error("cannot start /usr/sbin/miniupnpd");
  const QDeadlineTimer deadline(kCommandTimeoutMs);
  while (miniupnpd_log().find("Listening for NAT-PMP") == std::string::npos) {
    if (deadline.hasExpired() || miniupnpd_->state() == QProcess::NotRunning)
      throw std::runtime_error("miniupnpd did not come up:\n" + miniupnpd_log());
    miniupnpd_->waitForReadyRead(100);
  }
}

std::string NatLab::miniupnpd_log() {
  if (miniupnpd_) miniupnpd_output_ += miniupnpd_->readAll().toStdString();
  return miniupnpd_output_;
}

std::string NatLab::miniupnpd_redirects() {
  QProcess list;
  list.start("ip", {"netns", "exec", QString::fromStdString(router_), "nft", "list", "chain", "inet", "filter",
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

EchoServer::EchoServer(const std::string& netns, std::uint16_t port) : listener_(socket_in(netns, SOCK_STREAM)) {
  const int yes = 1;
  ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  const sockaddr_in address = ipv4("0.0.0.0", port);
  if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_.get(), 8) != 0)
    throw std::runtime_error("echo server cannot listen on port " + std::to_string(port) + ": " + std::strerror(errno));
  thread_ = std::thread([this] { serve(); });
}

EchoServer::~EchoServer() {
  stopping_ = true;
  thread_.join();
}

void EchoServer::serve() {
  std::array<char, 4096> buffer{};
  while (!stopping_) {
    if (!wait_for(listener_.get(), POLLIN, 100)) continue;
    const sys::UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (connection.get() < 0) continue;
    while (!stopping_ && wait_for(connection.get(), POLLIN, 3000)) {
      const ssize_t length = ::recv(connection.get(), buffer.data(), buffer.size(), 0);
      if (length <= 0 || ::send(connection.get(), buffer.data(), static_cast<size_t>(length), MSG_NOSIGNAL) != length) break;
    }
  }
}

std::string exchange(const std::string& netns, const std::string& address, std::uint16_t port,
                     const std::string& message) {
  const sys::UniqueFd socket = socket_in(netns, SOCK_STREAM);
  ::fcntl(socket.get(), F_SETFL, ::fcntl(socket.get(), F_GETFL) | O_NONBLOCK);
  const sockaddr_in target = ipv4(address, port);
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0 && errno != EINPROGRESS)
    return std::string("error: connect: ") + std::strerror(errno);
  if (!wait_for(socket.get(), POLLOUT, 3000)) return "error: connect timed out";
  int error = 0;
  socklen_t size = sizeof error;
  ::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &error, &size);
  if (error != 0) return std::string("error: connect: ") + std::strerror(error);
  if (::send(socket.get(), message.data(), message.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(message.size()))
    return std::string("error: send: ") + std::strerror(errno);
  std::string reply;
  std::array<char, 4096> buffer{};
  while (reply.size() < message.size()) {
    if (!wait_for(socket.get(), POLLIN, 3000)) return "error: no answer within 3 s";
    const ssize_t length = ::recv(socket.get(), buffer.data(), buffer.size(), 0);
    if (length <= 0) return "error: connection closed after " + std::to_string(reply.size()) + " bytes";
    reply.append(buffer.data(), static_cast<size_t>(length));
  }
  return reply;
}

}  // namespace tessera::test
