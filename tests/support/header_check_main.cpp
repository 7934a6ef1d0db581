// Links one translation unit per public header (each includes it twice, for include guards)
// with this one, which includes them all: a non-inline function defined in a header would be a
// multiple-definition link error, and a header that misses an include fails on its own TU.
#include <eigenformer/eigenformer.hpp>

int main() { return eigenformer::kernels::ref::dot(nullptr, nullptr, 0) == 0.0f ? 0 : 1; }
