// GET /api/tls: the hub key's signature binding the certificate the hub serves to its run
// (protocol/tls_binding.h), so a node that has checked the manifest can pin a self-signed
// certificate. Mounted only on a hub with TLS and a hub key; elsewhere the path answers 404.
#pragma once

#include "core/protocol/tls_binding.h"

namespace tessera::hub {

class RouteTable;

class TlsController {
 public:
  TlsController(const std::string& run_id, const protocol::CertificateFingerprint& fingerprint,
                const wallet::KeyPair& hub_key)
      : binding_(protocol::sign_tls_binding(run_id, fingerprint, hub_key)) {}

  void mount(RouteTable& routes);

 private:
  protocol::TlsBinding binding_;  // signed once: the certificate does not change while the hub runs
};

}  // namespace tessera::hub
