# python_package.cmake — the Python package's files, at build time and at install time.
#
# The contract between the build and the Python package (python/qsync/):
#   - `make` (the target python_package) copies python/qsync/ to BUILD/python/qsync/ and writes
#     BUILD/python/qsync/_build_config.py holding one line, LIBRARY = "<absolute path of
#     BUILD/libqsync.so.0>", so that `PYTHONPATH=BUILD/python python3 -c "import qsync"` loads
#     the library just built;
#   - `make install` copies python/qsync/ to DESTDIR PREFIX/lib/python3/dist-packages/qsync/
#     (where Debian's python3 looks, for PREFIX /usr/local or /usr) with a _build_config.py
#     naming the installed library, PREFIX/LIBDIR/libqsync.so.0 (PREFIX without DESTDIR).
# The package reads the library's path from _build_config.LIBRARY and nothing else. Without a
# python/qsync/ folder both steps do nothing (and the build removes an old copy).
#
# Variables: QSYNC_PY_MODE (build or install), QSYNC_PY_SRC (python/qsync), and
#   build:   QSYNC_PY_DST (BUILD/python/qsync), QSYNC_PY_LIBRARY (BUILD/libqsync.so.0);
#   install: QSYNC_PY_LIBDIR (lib), QSYNC_PY_SONAME (libqsync.so.0), QSYNC_PY_TMPDIR (a scratch
#            folder in BUILD), CMAKE_INSTALL_PREFIX as the install step has it.

# the package's files, relative to QSYNC_PY_SRC: no byte code, no _build_config.py of its own
function(qsync_py_files out)
  file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE "${QSYNC_PY_SRC}" "${QSYNC_PY_SRC}/*")
  list(FILTER files EXCLUDE REGEX "(^|/)__pycache__/|\\.py[co]$|^_build_config\\.py$")
  set(${out} "${files}" PARENT_SCOPE)
endfunction()

if(QSYNC_PY_MODE STREQUAL "build")
  if(NOT IS_DIRECTORY "${QSYNC_PY_SRC}")
    file(REMOVE_RECURSE "${QSYNC_PY_DST}")
    return()
  endif()
  qsync_py_files(files)
  # files no longer in the source go
  file(GLOB_RECURSE old LIST_DIRECTORIES false RELATIVE "${QSYNC_PY_DST}" "${QSYNC_PY_DST}/*")
  list(FILTER old EXCLUDE REGEX "(^|/)__pycache__/|\\.py[co]$|^_build_config\\.py$")
  foreach(f IN LISTS old)
    if(NOT f IN_LIST files)
      file(REMOVE "${QSYNC_PY_DST}/${f}")
    endif()
  endforeach()
  foreach(f IN LISTS files)
    get_filename_component(d "${QSYNC_PY_DST}/${f}" DIRECTORY)
    file(COPY "${QSYNC_PY_SRC}/${f}" DESTINATION "${d}")
  endforeach()
  file(CONFIGURE OUTPUT "${QSYNC_PY_DST}/_build_config.py"
       CONTENT "# written by the build: the shared library this package loads\nLIBRARY = \"${QSYNC_PY_LIBRARY}\"\n")
elseif(QSYNC_PY_MODE STREQUAL "install")
  if(NOT IS_DIRECTORY "${QSYNC_PY_SRC}")
    return()
  endif()
  set(dest "${CMAKE_INSTALL_PREFIX}/lib/python3/dist-packages/qsync")
  qsync_py_files(files)
  foreach(f IN LISTS files)
    get_filename_component(d "${dest}/${f}" DIRECTORY)
    file(INSTALL DESTINATION "${d}" TYPE FILE FILES "${QSYNC_PY_SRC}/${f}")
  endforeach()
  # written in a folder of its own: installs into several prefixes may run at once
  string(RANDOM LENGTH 16 tag)
  set(tmp "${QSYNC_PY_TMPDIR}/python-install-${tag}")
  file(WRITE "${tmp}/_build_config.py"
       "# written at install: the shared library this package loads\n"
       "LIBRARY = \"${CMAKE_INSTALL_PREFIX}/${QSYNC_PY_LIBDIR}/${QSYNC_PY_SONAME}\"\n")
  file(INSTALL DESTINATION "${dest}" TYPE FILE FILES "${tmp}/_build_config.py")
  file(REMOVE_RECURSE "${tmp}")
else()
  message(FATAL_ERROR "python_package.cmake: QSYNC_PY_MODE must be build or install")
endif()
