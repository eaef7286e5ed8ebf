// Built with -fno-exceptions: DENDRITE_THROW must print its message and abort.
#include <dendrite/core/error.hpp>
int main(int argc, char**) {
  if (argc < 100) {
    DENDRITE_THROW(dendrite::dimension_error, "expected ", 3, " channels, got ", 5);
  }
  return 0;
}
