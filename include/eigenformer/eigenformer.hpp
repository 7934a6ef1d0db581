#pragma once
/// @file
/// Umbrella header: everything public in eigenformer. Applications and examples include this;
/// the library's own headers never do (they include exactly what they use).

#include <eigenformer/attention.hpp>
#include <eigenformer/blocks/decoder_block.hpp>
#include <eigenformer/blocks/encoder_block.hpp>
#include <eigenformer/blocks/layer_choice.hpp>
#include <eigenformer/core/config.hpp>
#include <eigenformer/core/cpu_features.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/ffn/moe.hpp>
#include <eigenformer/generation/generate.hpp>
#include <eigenformer/generation/sampling.hpp>
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/io/safetensors.hpp>
#include <eigenformer/kernels/gemm.hpp>
#include <eigenformer/kernels/kernels.hpp>
#include <eigenformer/models/auto.hpp>
#include <eigenformer/models/bert.hpp>
#include <eigenformer/models/decoder.hpp>
#include <eigenformer/models/encoder.hpp>
#include <eigenformer/models/encoder_decoder.hpp>
#include <eigenformer/models/gpt2.hpp>
#include <eigenformer/models/llama.hpp>
#include <eigenformer/ops/activation.hpp>
#include <eigenformer/ops/embedding.hpp>
#include <eigenformer/ops/linear.hpp>
#include <eigenformer/ops/norm.hpp>
#include <eigenformer/ops/positional.hpp>
#include <eigenformer/tokenizers/auto.hpp>
#include <eigenformer/tokenizers/bpe.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>
