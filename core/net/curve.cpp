// Ed25519 → X25519 conversion (libsodium crypto_sign_ed25519_*_to_curve25519).
#include "core/net/curve.h"

#include <stdexcept>

#include <sodium.h>


namespace tessera::net {

CurveKeyPair curve_keys_from(const wallet::KeyPair& node_key) {
  wallet::ensure_sodium();
  wallet::SecureBytes ed_public(crypto_sign_PUBLICKEYBYTES);
  wallet::SecureBytes ed_secret(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(ed_public.data(), ed_secret.data(), node_key.seed().data());
  CurveKeyPair pair;
  pair.secret_key = wallet::SecureBytes(crypto_scalarmult_curve25519_BYTES);
  crypto_sign_ed25519_sk_to_curve25519(pair.secret_key.data(), ed_secret.data());
  pair.public_key = curve_public_from(node_key.public_key());
  return pair;
}

CurvePublicKey curve_public_from(const wallet::PublicKey& node_public_key) {
  wallet::ensure_sodium();
  CurvePublicKey curve{};
  if (crypto_sign_ed25519_pk_to_curve25519(curve.data(), node_public_key.data()) != 0)
    throw std::invalid_argument("not a valid Ed25519 public key");
  return curve;
}


}  // namespace tessera::net
