// Must not compile: long double is not a dendrite::Real.
#include <dendrite/core/math.hpp>
int main() { return static_cast<int>(dendrite::sigmoid(1.0L)); }
