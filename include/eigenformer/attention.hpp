#pragma once
/// @file
/// The attention layer: every variant and the multi-head layer that runs them.

#include <eigenformer/attention/layout.hpp>
#include <eigenformer/attention/linear.hpp>
#include <eigenformer/attention/linformer.hpp>
#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/attention/score.hpp>
