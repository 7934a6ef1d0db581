// Must not compile: a decoder block with cross-attention and Sub-LN placement would silently run
// as pre-norm (there is no inner norm for the cross-attention), so decoder_block refuses it with
// a static_assert. tests/CMakeLists.txt builds this file and expects that message.
#include <eigenformer/attention/score.hpp>
#include <eigenformer/blocks/decoder_block.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/ops/norm.hpp>

namespace ea = eigenformer::attention;
namespace eb = eigenformer::blocks;

using block = eb::decoder_block<ea::causal_softmax_attention, ea::softmax_attention,
                                eigenformer::ffn::dense_ffn<eigenformer::ops::gelu_erf>, eigenformer::ops::layer_norm,
                                eb::sub_ln>;

int main() { return block::has_cross ? 0 : 1; }
