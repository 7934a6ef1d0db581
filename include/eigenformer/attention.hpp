#pragma once
/// @file
/// The attention layer: every variant and the multi-head layer that runs them.

#include <eigenformer/attention/config.hpp>
#include <eigenformer/attention/kv_cache.hpp>
#include <eigenformer/attention/layout.hpp>
#include <eigenformer/attention/linear.hpp>
#include <eigenformer/attention/linformer.hpp>
#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/attention/normalizers.hpp>
#include <eigenformer/attention/runner.hpp>
#include <eigenformer/attention/score.hpp>
#include <eigenformer/attention/score_modifiers.hpp>
#include <eigenformer/attention/tiled_kernel.hpp>
#include <eigenformer/attention/variant.hpp>
