# tp_add_module(name SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
#   One STATIC library per module: tp_<name>, alias touchpoint::<name>.
#   Public headers live in include/touchpoint/<name>/, private ones next to the sources.
# tp_add_test(module SOURCES ... [DEPS ...] [LABELS ...] [FIXTURES ...] [PER_BACKEND] [TIMEOUT s])
#   One GoogleTest binary per module: tp_<module>_test. FIXTURES: ctest fixtures its tests need
#   (e.g. `pg`, the throwaway PostgreSQL server of tests/CMakeLists.txt). PER_BACKEND: ctest runs
#   its tests a second time on PostgreSQL (prefix `postgres/`, TP_TEST_STORE=postgres; see
#   tests/testing/pg.h), when the build has the PostgreSQL backend. TIMEOUT: seconds per case
#   instead of the presets' 300 (for cases that build a whole demo). (PROPERTIES values must be
#   single list elements: gtest_discover_tests splits "a;b" into two arguments.)
# tp_add_bench(module SOURCES ... [DEPS ...])
#   One Google Benchmark binary per module: tp_<module>_bench.

add_library(tp_warnings INTERFACE)
target_compile_options(tp_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wnon-virtual-dtor)

function(tp_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(tp_${name} STATIC ${ARG_SOURCES})
  add_library(touchpoint::${name} ALIAS tp_${name})
  target_include_directories(tp_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/generated
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(tp_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS} tp_warnings)
  set_target_properties(tp_${name} PROPERTIES COMPILE_WARNING_AS_ERROR ON)
endfunction()

function(tp_add_test module)
  cmake_parse_arguments(ARG "PER_BACKEND" "TIMEOUT" "SOURCES;DEPS;LABELS;FIXTURES" ${ARGN})
  set(target tp_${module}_test)
  set(extra)
  if(ARG_TIMEOUT)  # seconds, for each case (the presets' default is 300)
    set(extra TIMEOUT ${ARG_TIMEOUT})
  endif()
  add_executable(${target} ${ARG_SOURCES})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main tp_warnings)
  set_target_properties(${target} PROPERTIES COMPILE_WARNING_AS_ERROR ON)
  target_compile_definitions(${target} PRIVATE
    TP_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    TP_BINARY_DIR="${PROJECT_BINARY_DIR}"
    TP_SHARED_DATA_DIR="${PROJECT_SOURCE_DIR}/../shared/data")
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(ARG_FIXTURES)
    gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60
      PROPERTIES LABELS "${ARG_LABELS}" FIXTURES_REQUIRED "${ARG_FIXTURES}" ${extra})
  else()
    gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}" ${extra})
  endif()
  if(ARG_PER_BACKEND AND TP_WITH_POSTGRES)
    gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 TEST_PREFIX "postgres/"
      PROPERTIES LABELS "${ARG_LABELS}" FIXTURES_REQUIRED pg ENVIRONMENT TP_TEST_STORE=postgres ${extra})
  endif()
endfunction()

function(tp_add_bench module)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  set(target tp_${module}_bench)
  add_executable(${target} ${ARG_SOURCES})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/bench)
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} benchmark::benchmark_main tp_warnings)
  target_compile_definitions(${target} PRIVATE
    TP_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    TP_SHARED_DATA_DIR="${PROJECT_SOURCE_DIR}/../shared/data")
endfunction()
