// Test helpers for ports on 127.0.0.1: a listening TCP socket that accepts (the kernel completes
// connections) and never writes, and a port that was free a moment ago and is closed again.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/net/curve.h"
#include "core/wallet/signing.h"

namespace tessera::test {

struct LoopbackListener {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;
  LoopbackListener() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd, 8);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  ~LoopbackListener() { close(); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// A port nobody listens on (it was free a moment ago).
inline int closed_loopback_port() {
  LoopbackListener taken;
  return taken.port;
}

// A node's key and its CurveZMQ key pair.
struct CurveNode {
  wallet::KeyPair key = wallet::KeyPair::generate();
  net::CurveKeyPair curve = net::curve_keys_from(key);
};

}  // namespace tessera::test
