// The swarm's messages (DESIGN.md "The protocol"): what each message kind carries in its
// envelope's meta and blob, encoded and decoded here only. The node, the hub's inference client
// and the tests all use these structs. decode() checks types and sizes and throws
// std::invalid_argument naming the field (nlohmann's type_error for a field of the wrong JSON
// type); what a field must equal (this run's attempt, this stage's route) is the receiver's check.
// The request id every request and its answer carry is added by whoever sends (it is not part of
// a message).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/net/envelope.h"
#include "core/wallet/signing.h"

namespace tessera::net {

// A peer on a route: its node key and where its stage server listens.
struct Hop {
  wallet::PublicKey key{};
  std::string endpoint;
};

// Token ids on the wire: u32 little-endian each.
std::vector<std::uint8_t> tokens_to_bytes(std::span<const std::int32_t> tokens);
std::vector<std::int32_t> tokens_from_bytes(std::span<const std::uint8_t> bytes);

// What a Forward (training) or an Infer (inference) brings a stage: token ids [batch, sequence + 1]
// at the end of the blob, the stage's boundary payload (its codec and shape are in the header)
// before them, which is empty for stage 0; and the route: the stages after the receiver's.
struct StageInput {
  int batch = 0;
  int sequence = 0;
  std::vector<Hop> route;
  std::vector<std::uint8_t> activations;
  std::vector<std::int32_t> tokens;
};

// Forward: one training micro-batch into a stage. `queue`: how many micro-batches may be ahead of
// this one at a later stage (0 unless a stage before has several replicas). `ticket`: hex of the
// driver's protocol::SignedStepTicket for the attempt, passed on unchanged by every stage.
struct ForwardRequest {
  std::uint64_t attempt = 0;
  wallet::PublicKey from{};  // the sender's node key (checked against the connection's)
  int queue = 0;
  std::string ticket;
  StageInput input;

  Envelope encode() const&;
  Envelope encode() &&;  // moves the activations into the envelope
  static ForwardRequest decode(const Envelope& envelope);
  // The same without the input's activations and token ids (left empty): what authorising it needs.
  static ForwardRequest decode_head(const Envelope& envelope);
};

// Backward: the answer to a Forward. `receipt` acknowledges the Forward's payload (every stage but
// stage 0 signs one); `receipts` are the Backward receipts signed further down the route, carried
// to the driver, which hands them to their senders with Reduce. Receipts travel as hex text.
struct BackwardReply {
  std::uint64_t attempt = 0;
  double loss = 0;           // the micro-batch's loss, from the last stage
  double forward_bytes = 0;  // boundary bytes sent on this micro-batch's route so far
  std::optional<std::string> receipt;
  std::vector<std::string> receipts;
  std::vector<std::uint8_t> gradient;  // d loss / d (the Forward's activations)

  Envelope encode() const;
  static BackwardReply decode(const Envelope& envelope);
};

// One generated sequence's part of a batched Infer: its new positions on the KV-cache session
// `session` of every stage on the route, from position `start` (0 opens the session again),
// `length` tokens, and `activation_bytes` of the input's activations (0 on stage 0, and 0 on a
// later stage when a stage before it no longer held the session: it is passed on, not computed).
struct InferSequence {
  std::uint64_t session = 0;
  std::uint32_t start = 0;
  std::uint32_t length = 0;
  std::uint64_t activation_bytes = 0;
  bool operator==(const InferSequence&) const = default;
};

inline constexpr std::size_t kMaxInferSequences = 256;

// Infer: one inference forward (no gradient, no attempt). Answered with Logits. `ticket`: hex of
// the hub's protocol::AuthenticatedInferenceTicket for this request, passed on unchanged by every stage.
// Without `sequences` the input is whole windows [batch, sequence + 1], computed without a cache;
// with them it is one row (batch 1) holding every sequence's new positions one after the other
// (their lengths add up to `sequence`; the last token id is unused), and their activations in the
// same order (the sizes each says).
struct InferRequest {
  std::string ticket;
  StageInput input;
  std::vector<InferSequence> sequences;

  Envelope encode() const;
  // Also throws when the sequences do not add up to the input (lengths, activation bytes, batch 1).
  static InferRequest decode(const Envelope& envelope);
  // What the inference ticket binds besides the token ids: every sequence's session, start and
  // length (u64, u32, u32 little-endian each; empty without sequences). Activation sizes change
  // from stage to stage and are not part of it.
  std::vector<std::uint8_t> layout_bytes() const;
};

// Logits: the last stage's answer to an Infer, carried back along the route. For a batched Infer,
// `missing` are the indices of the sequences some stage no longer held (the hub opens them again
// from position 0), and `logits` the last-position logits of every other sequence in order.
struct LogitsReply {
  std::vector<std::uint32_t> missing;
  std::vector<std::uint8_t> logits;  // floats

  Envelope encode() const;
  static LogitsReply decode(const Envelope& envelope);
};

// Reduce: a stage's replicas sum their gradients; `contributors` are the replicas that ran
// micro-batches, `receipts` the Backward receipts this replica is owed. Answered with GradNorm.
struct ReduceRequest {
  std::uint64_t attempt = 0;
  std::vector<Hop> contributors;
  bool send_shared = false;  // subspace runs: answer with this stage's shared embedding gradient
  std::vector<std::string> receipts;
  // How many replicas install this step's sum. A sole contributor that is the only one keeps its
  // gradient as it is; under PowerSGD one that is not installs the low-rank sum like the others.
  std::uint32_t installers = 1;

  Envelope encode() const;
  static ReduceRequest decode(const Envelope& envelope);
};

// GradNorm: a stage's squared gradient norm, and with send_shared the shared embedding gradient.
struct GradNormReply {
  std::uint64_t attempt = 0;
  double norm_squared = 0;
  std::vector<std::uint8_t> shared;  // floats, empty unless asked for

  Envelope encode() const;
  static GradNormReply decode(const Envelope& envelope);
};

// A request that names only the step attempt it is about: Abort (answered with Ack).
struct AttemptRequest {
  std::uint64_t attempt = 0;

  Envelope encode() const;
  static AttemptRequest decode(const Envelope& envelope);
};

// What a replica of the same stage presents with StateRequest and GradFetch: hex of its
// hub-signed protocol::SignedStageAssignment (empty when its hub signs none).
struct ReplicaCredentials {
  std::string assignment;

  static ReplicaCredentials decode(const Envelope& envelope);
};

// GradFetch: a replica asks another for its part of the attempt's replica sum. Answered with
// Gradient: the raw gradient (exact averaging, float32), or under PowerSGD (core/model/power_sgd.h)
// the replica's first part, or its second part for the round's basis, which the request carries
// (parts and basis as bfloat16).
enum class GradPart : std::uint8_t { raw = 0, first = 1, second = 2 };
struct GradFetchRequest {
  std::uint64_t attempt = 0;
  std::string assignment;
  GradPart part = GradPart::raw;
  std::vector<float> basis{};  // GradPart::second only

  Envelope encode() const;
  static GradFetchRequest decode(const Envelope& envelope);
};

// SharedGradient: the shared embedding gradient summed over all stages. Answered with GradNorm.
// Under PowerSGD (core/model/power_sgd.h) the driver first asks each stage's source for its second
// part (`values` is the basis; the answer's `shared` carries the part), then sends every
// committer the basis ‖ summed second parts ‖ summed raw values, which each reconstructs alike.
enum class SharedPart : std::uint8_t { sum = 0, second = 1, low_rank = 2 };
struct SharedGradientRequest {
  std::uint64_t attempt = 0;
  std::vector<float> gradient;
  SharedPart part = SharedPart::sum;
  std::size_t basis_values = 0;  // low_rank: how many leading values are the basis (sent as bfloat16)

  Envelope encode() const;
  static SharedGradientRequest decode(const Envelope& envelope);
};

// Step: the driver commits the attempt. `norm` is the global gradient norm to clip by (< 0: none).
struct StepRequest {
  std::uint64_t attempt = 0;
  double norm = -1;
  std::optional<double> loss;
  std::optional<double> bytes_per_token;
  double step_tokens = 0;

  Envelope encode() const;
  static StepRequest decode(const Envelope& envelope);
};

// Ack: the answer to Step (the learning rate the stage stepped with) and Abort (nothing).
struct AckReply {
  std::optional<double> lr;

  Envelope encode() const;
};

// Pong: the answer to a Ping (which carries nothing).
struct PongReply {
  std::uint64_t step = 0;
  bool paused = false;

  Envelope encode() const;
  static PongReply decode(const Envelope& envelope);
};

// StateRequest: the next chunk of a replica's stage state; transfer 0 starts a new transfer.
struct StateRequest {
  std::uint64_t transfer = 0;
  std::uint64_t offset = 0;
  std::string assignment;  // as ReplicaCredentials

  Envelope encode() const;
  static StateRequest decode(const Envelope& envelope);
};

struct StateChunk {
  std::uint64_t transfer = 0;
  std::uint64_t offset = 0;
  std::uint64_t total = 0;
  std::vector<std::uint8_t> bytes;

  Envelope encode() const;
  static StateChunk decode(const Envelope& envelope);
};

// CheckFetch: a spot checker asks the worker a check ticket names for the next chunk of its
// evidence for the ticket's slot (net/check_evidence.h). `ticket`: hex of the hub's
// protocol::SignedCheckTicket, which is the checker's credential. Answered with CheckChunk.
struct CheckFetchRequest {
  std::string ticket;
  std::uint64_t offset = 0;

  Envelope encode() const;
  static CheckFetchRequest decode(const Envelope& envelope);
};

struct CheckChunk {
  std::uint64_t offset = 0;
  std::uint64_t total = 0;
  std::vector<std::uint8_t> bytes;

  Envelope encode() const;
  static CheckChunk decode(const Envelope& envelope);
};

// Error: any request refused or failed. `failed_peer`: the peer that failed when it is not the
// answering one (a stage further down the route that did not answer or answered wrongly); the
// driver does not take that on the answering peer's word (docs/swarm.md, "Who may send what").
struct ErrorReply {
  std::string message = "error";
  std::optional<wallet::PublicKey> failed_peer;

  Envelope encode() const;
  static ErrorReply decode(const Envelope& envelope);  // never throws: a bad field reads as absent
};

}  // namespace tessera::net
