// libFuzzer target for what a peer's swarm message can make a node parse: the payload envelope
// (JSON meta within its size and nesting limits, then the blob), every typed message of
// core/net/swarm_messages.h, and the credentials they carry (step tickets, inference tickets,
// stage assignments), both as the raw input and as the hex a message's meta holds. Nothing may
// crash or throw anything but the documented exceptions, and a credential that decodes must
// encode back to exactly its bytes. With TESSERA_FUZZ_SEEDS=<dir> set, the first call writes one
// valid example of each into <dir> for the fuzzer to start from.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "core/net/check_evidence.h"
#include "core/net/envelope.h"
#include "core/net/swarm_messages.h"
#include "core/protocol/assignment.h"
#include "core/protocol/inference_ticket.h"
#include "core/protocol/spot_check.h"
#include "core/protocol/step_ticket.h"
#include "core/wallet/encoding.h"

using namespace tessera;

namespace {

template <typename Signed>
void round_trips(std::span<const std::uint8_t> bytes) {
  const auto decoded = Signed::decode(bytes);
  if (!decoded) return;
  const auto again = decoded->encode();
  if (again.size() != bytes.size() || !std::equal(again.begin(), again.end(), bytes.begin())) std::abort();
}

template <typename Signed>
void from_meta(const net::Envelope& envelope, const char* key) {
  const auto found = envelope.meta.find(key);
  if (found == envelope.meta.end() || !found->is_string()) return;
  const auto text = found->get<std::string>();
  if (const auto decoded = Signed::from_hex(text)) round_trips<Signed>(decoded->encode());
}

// Runs one decoder; the exceptions a decoder documents (a bad field, a JSON type error) are fine.
template <typename Decode>
void tolerant(const Decode& decode) {
  try {
    decode();
  } catch (const std::invalid_argument&) {
  } catch (const nlohmann::json::exception&) {
  }
}

void decode_every_message(const net::Envelope& e) {
  tolerant([&] { (void)net::ForwardRequest::decode_head(e); });
  tolerant([&] { (void)net::ForwardRequest::decode(e).encode(); });
  tolerant([&] { (void)net::BackwardReply::decode(e).encode(); });
  tolerant([&] { (void)net::InferRequest::decode(e).encode(); });
  tolerant([&] { (void)net::LogitsReply::decode(e).encode(); });
  tolerant([&] { (void)net::ReduceRequest::decode(e).encode(); });
  tolerant([&] { (void)net::GradNormReply::decode(e).encode(); });
  tolerant([&] { (void)net::AttemptRequest::decode(e).encode(); });
  tolerant([&] { (void)net::GradFetchRequest::decode(e).encode(); });
  tolerant([&] { (void)net::ReplicaCredentials::decode(e); });
  tolerant([&] { (void)net::SharedGradientRequest::decode(e).encode(); });
  tolerant([&] { (void)net::StepRequest::decode(e).encode(); });
  tolerant([&] { (void)net::PongReply::decode(e).encode(); });
  tolerant([&] { (void)net::StateRequest::decode(e).encode(); });
  tolerant([&] { (void)net::StateChunk::decode(e).encode(); });
  tolerant([&] { (void)net::CheckFetchRequest::decode(e).encode(); });
  tolerant([&] { (void)net::CheckChunk::decode(e).encode(); });
  tolerant([&] { (void)net::CheckEvidence::decode(e.blob).encode(); });
  (void)net::ErrorReply::decode(e).encode();  // documented never to throw
  from_meta<protocol::SignedStepTicket>(e, "ticket");
  from_meta<protocol::AuthenticatedInferenceTicket>(e, "ticket");
  from_meta<protocol::SignedStageAssignment>(e, "assignment");
  from_meta<protocol::SignedCheckTicket>(e, "ticket");
}

void write(const std::string& dir, const std::string& name, std::span<const std::uint8_t> bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                          static_cast<std::streamsize>(bytes.size()));
}

void write_envelope(const std::string& dir, const std::string& name, const net::Envelope& e) {
  write(dir, name, net::pack(e.meta, e.blob));
}

// One valid example of each message and credential, so the fuzzer starts past the first checks.
void write_seeds(const std::string& dir) {
  const auto key = wallet::KeyPair::generate();
  const net::Hop hop{key.public_key(), "tcp://127.0.0.1:5555"};
  protocol::StepTicket step{"run", 3, 4096, key.public_key(), 2, 1, {{{key.public_key(), hop.endpoint}}, {{key.public_key(), hop.endpoint}}}};
  const auto step_ticket = protocol::sign_step_ticket(step, key);
  protocol::InferenceTicket infer{"run", {}, 1, 2, 1, 4, {}, {key.public_key(), key.public_key()}};
  const wallet::SecureBytes tag_key(32);
  const auto inference_ticket = protocol::authenticate_inference_ticket(infer, {&tag_key, &tag_key});
  const auto assignment = protocol::sign_assignment({"run", key.public_key(), 1, 1, 2}, key);
  write(dir, "step-ticket", step_ticket.encode());
  write(dir, "inference-ticket", inference_ticket.encode());
  write(dir, "assignment", assignment.encode());
  net::ForwardRequest forward{4096, key.public_key(), 1, step_ticket.to_hex(), {1, 4, {hop}, {1, 2, 3, 4}, {1, 2, 3, 4, 5}}};
  write_envelope(dir, "forward", forward.encode());
  write_envelope(dir, "infer", net::InferRequest{inference_ticket.to_hex(), {1, 4, {hop}, {}, {1, 2, 3, 4, 5}}, {}}.encode());
  write_envelope(dir, "infer-batched",
                 net::InferRequest{inference_ticket.to_hex(), {1, 4, {hop}, {9, 9}, {1, 2, 3, 4, 5}}, {{7, 0, 3, 0}, {8, 5, 1, 2}}}
                     .encode());
  write_envelope(dir, "logits", net::LogitsReply{{1}, {0, 0, 128, 63}}.encode());
  write_envelope(dir, "backward", net::BackwardReply{1, 2.5, 3, "00", {"11"}, {1, 2, 3, 4}}.encode());
  write_envelope(dir, "reduce", net::ReduceRequest{1, {hop}, true, {"22"}}.encode());
  write_envelope(dir, "grad-norm", net::GradNormReply{1, 0.5, {0, 0, 128, 63}}.encode());
  write_envelope(dir, "grad-fetch", net::GradFetchRequest{1, assignment.to_hex()}.encode());
  write_envelope(dir, "shared", net::SharedGradientRequest{1, {1.0f, 2.0f}}.encode());
  write_envelope(dir, "grad-fetch-second", net::GradFetchRequest{1, "", net::GradPart::second, {0.5f, 1.0f}}.encode());
  write_envelope(dir, "shared-low-rank", net::SharedGradientRequest{1, {0.5f, 1.0f, 3.0f}, net::SharedPart::low_rank, 2}.encode());
  write_envelope(dir, "step", net::StepRequest{1, 2.0, 1.5, 20.0, 256}.encode());
  write_envelope(dir, "pong", net::PongReply{7, true}.encode());
  write_envelope(dir, "state-request", net::StateRequest{0, 0, assignment.to_hex()}.encode());
  write_envelope(dir, "state-chunk", net::StateChunk{1, 0, 4, {1, 2, 3, 4}}.encode());
  protocol::CheckTicket check;
  check.run_id = "run";
  check.worker = check.checker = key.public_key();
  check.forward_in = protocol::PayloadDigest{};
  write_envelope(dir, "check-fetch", net::CheckFetchRequest{protocol::sign_check_ticket(check, key).to_hex(), 0}.encode());
  net::CheckEvidence evidence;
  evidence.parameters = {1.0f, 2.0f};
  evidence.tokens = {1, 2, 3};
  evidence.forward = model::Payload{model::CodecKind::none, {1, 1, 1}, {0, 0, 128, 63}};
  write_envelope(dir, "check-chunk", net::CheckChunk{0, 64, evidence.encode()}.encode());
  write_envelope(dir, "error", net::ErrorReply{"peer failed", key.public_key()}.encode());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool seeded = [] {
    if (const char* dir = std::getenv("TESSERA_FUZZ_SEEDS")) write_seeds(dir);
    return true;
  }();
  (void)seeded;
  const std::span input(data, size);
  round_trips<protocol::SignedStepTicket>(input);
  round_trips<protocol::AuthenticatedInferenceTicket>(input);
  round_trips<protocol::SignedStageAssignment>(input);
  if (const auto envelope = net::unpack(input)) decode_every_message(*envelope);
  return 0;
}
