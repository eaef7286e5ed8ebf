# Debian 12's xsimd 8.1 target lists a bare `xtl` in its link interface, but no installed package
# provides that target, so linking anything to `xsimd` fails with "cannot find -lxtl". xsimd only
# needs xtl for XSIMD_ENABLE_XTL_COMPLEX, which dendrite does not use: define an empty stand-in only
# when the link item is there and nothing else defines it (newer xsimd releases fixed this).
if(TARGET xsimd AND NOT TARGET xtl)
  get_target_property(_dendrite_xsimd_links xsimd INTERFACE_LINK_LIBRARIES)
  if(_dendrite_xsimd_links MATCHES "(^|;)xtl($|;)")
    add_library(xtl INTERFACE IMPORTED)
  endif()
  unset(_dendrite_xsimd_links)
endif()
