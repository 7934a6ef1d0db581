// Links with the translation unit that includes the umbrella header (twice): both include every
// public header, so a non-inline function or variable defined in a header is a multiple-definition
// link error. (Each header's own unit, which shows that it is self-contained, is compiled by the
// front end only: tests/CMakeLists.txt.)
#include <eigenformer/eigenformer.hpp>

int main() { return eigenformer::kernels::ref::dot(nullptr, nullptr, 0) == 0.0f ? 0 : 1; }
