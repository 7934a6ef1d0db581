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
#include <eigenformer/kernels/kernels.hpp>
#include <eigenformer/models/decoder.hpp>
#include <eigenformer/models/encoder.hpp>
#include <eigenformer/models/encoder_decoder.hpp>
#include <eigenformer/ops/activation.hpp>
#include <eigenformer/ops/linear.hpp>
#include <eigenformer/ops/norm.hpp>
#include <eigenformer/ops/positional.hpp>
