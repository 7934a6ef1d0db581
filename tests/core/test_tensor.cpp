#include <eigenformer/core/tensor.hpp>

#include <catch2/catch.hpp>

#include <vector>

namespace ef = eigenformer;

TEST_CASE("views: a head is a strided column block, rows are row blocks, no copies", "[core][tensor]") {
  ef::matrix q(5, 12);
  for (ef::index_t r = 0; r < q.rows(); ++r)
    for (ef::index_t c = 0; c < q.cols(); ++c) q(r, c) = float(100 * r + c);
  ef::matrix_view all = ef::view(q);
  ef::matrix_view head2 = ef::columns(all, 8, 4);  // heads of 4 columns: head 2 is columns 8..11
  REQUIRE(head2.rows() == 5);
  REQUIRE(head2.cols() == 4);
  CHECK(head2.outerStride() == 12);
  CHECK(head2(3, 1) == 309.0f);
  head2(0, 0) = -1.0f;  // writes through to q
  CHECK(q(0, 8) == -1.0f);
  ef::const_matrix_view tail = ef::rows(ef::view(static_cast<const ef::matrix&>(q)), 3, 2);
  CHECK(tail.rows() == 2);
  CHECK(tail(1, 11) == 411.0f);
  ef::const_matrix_view block = ef::columns(tail, 4, 2);
  CHECK(block(0, 1) == 305.0f);
  CHECK(block.data() == q.data() + 3 * 12 + 4);
}

TEST_CASE("packed-batch offsets are validated", "[core][tensor]") {
  const std::vector<ef::index_t> ok = {0, 1, 8, 8, 72};
  CHECK_NOTHROW(ef::validate_offsets(ok, 72));
  CHECK(ef::sequence_count(ok) == 4);
  CHECK_THROWS_WITH(ef::validate_offsets(ok, 73),
                    "[eigenformer.offsets] packed-batch offsets (last entry): expected 73 (the number of rows), got 72");
  const std::vector<ef::index_t> decreasing = {0, 5, 3, 9};
  CHECK_THROWS_WITH(ef::validate_offsets(decreasing, 9, "attention"),
                    "[eigenformer.attention] packed-batch offsets[2]: expected non-decreasing offsets (>= 5), got 3");
  const std::vector<ef::index_t> not_zero = {1, 9};
  CHECK_THROWS_AS(ef::validate_offsets(not_zero, 9), ef::shape_error);
  const std::vector<ef::index_t> one = {0};
  CHECK_THROWS_AS(ef::validate_offsets(one, 0), ef::shape_error);
}
