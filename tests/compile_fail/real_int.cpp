// Must not compile: int is not a dendrite::Real.
#include <dendrite/core/math.hpp>
int main() { return static_cast<int>(dendrite::tanh(1)); }
