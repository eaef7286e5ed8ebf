// A program outside the dendrite tree: prints the version and one computed value.
#include <cstdio>

#include <dendrite/core.hpp>

int main() {
  const float s = dendrite::sigmoid(0.0f);
  const auto b = dendrite::tanh(dendrite::broadcast<dendrite::batchf>(0.0));
  std::printf("dendrite %s sigmoid(0)=%.2f tanh-lanes=%zu tanh(0)=%.1f\n", DENDRITE_VERSION_STRING,
              s, dendrite::lanes_v<dendrite::batchf>, static_cast<double>(dendrite::lane(b, 0)));
  return 0;
}
