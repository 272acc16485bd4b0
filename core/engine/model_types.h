// The engine trains the model that core/model describes: its plain types and functions, by their
// short names inside the engine (tessera::engine::ModelConfig is tessera::model::ModelConfig).
#pragma once

#include "core/model/codec.h"
#include "core/model/data.h"
#include "core/model/model_config.h"

namespace tessera::engine {

using model::CodecKind;
using model::DType;
using model::HostTensor;
using model::MemoryEstimate;
using model::ModelConfig;
using model::Payload;
using model::Rounding;
using model::StagePlan;
using model::TrainConfig;

using model::codec_name;
using model::decode;
using model::encode;
using model::estimate_stage_memory;
using model::format_bytes;
using model::learning_rate;
using model::plan_stage;
using model::shape_text;
using model::stage_training_flops_per_token;

}  // namespace tessera::engine
