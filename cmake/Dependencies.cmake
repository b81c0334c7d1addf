# Every third-party dependency is found here, once, and exposed as an imported target.
# Package names and pitfalls: ../shared/STACK.md. scripts/setup.sh installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

find_package(nlohmann_json 3.11 REQUIRED)                          # nlohmann_json::nlohmann_json
find_package(simdjson REQUIRED)                                    # simdjson::simdjson
find_package(SQLite3 REQUIRED)                                     # SQLite::SQLite3
find_package(ICU REQUIRED COMPONENTS uc i18n)                      # ICU::uc ICU::i18n
find_package(Eigen3 3.3 REQUIRED NO_MODULE)                        # Eigen3::Eigen
find_package(OpenSSL REQUIRED)                                     # OpenSSL::Crypto
find_package(fmt REQUIRED)                                         # fmt::fmt
find_package(spdlog REQUIRED)                                      # spdlog::spdlog
find_package(CLI11 REQUIRED)                                       # CLI11::CLI11
find_package(tomlplusplus REQUIRED)                                # tomlplusplus::tomlplusplus
find_package(Boost 1.74 REQUIRED)                                  # Boost::headers (Asio, Beast)
pkg_check_modules(HTTPLIB  REQUIRED IMPORTED_TARGET cpp-httplib)   # PkgConfig::HTTPLIB (test client)
pkg_check_modules(FRISO    REQUIRED IMPORTED_TARGET friso)         # PkgConfig::FRISO
pkg_check_modules(OPENCC   REQUIRED IMPORTED_TARGET opencc)        # PkgConfig::OPENCC
pkg_check_modules(FASTTEXT REQUIRED IMPORTED_TARGET fasttext)      # PkgConfig::FASTTEXT
pkg_check_modules(SODIUM   REQUIRED IMPORTED_TARGET libsodium)     # PkgConfig::SODIUM
pkg_check_modules(CURL     REQUIRED IMPORTED_TARGET libcurl)       # PkgConfig::CURL (outbox: webhooks, SMTP)
pkg_check_modules(LIBZIP   REQUIRED IMPORTED_TARGET libzip)        # PkgConfig::LIBZIP (privacy: CSV zip exports)
pkg_check_modules(GMIME    REQUIRED IMPORTED_TARGET gmime-3.0)     # PkgConfig::GMIME (service: inbound e-mail, MIME)

# liblinear ships no .pc or CMake config (STACK.md pitfall 17).
find_path(LIBLINEAR_INCLUDE_DIR linear.h REQUIRED)
find_library(LIBLINEAR_LIBRARY linear REQUIRED)
add_library(liblinear::liblinear UNKNOWN IMPORTED)
set_target_properties(liblinear::liblinear PROPERTIES IMPORTED_LOCATION ${LIBLINEAR_LIBRARY}
                      INTERFACE_INCLUDE_DIRECTORIES ${LIBLINEAR_INCLUDE_DIR})

# find_package(xgboost) needs the separate CLI package (STACK.md pitfall 16).
find_path(XGBOOST_INCLUDE_DIR xgboost/c_api.h REQUIRED)
find_library(XGBOOST_LIBRARY xgboost REQUIRED)
add_library(xgboost::xgboost UNKNOWN IMPORTED)
set_target_properties(xgboost::xgboost PROPERTIES IMPORTED_LOCATION ${XGBOOST_LIBRARY}
                      INTERFACE_INCLUDE_DIRECTORIES ${XGBOOST_INCLUDE_DIR})

if(TP_BUILD_TESTS)
  find_package(GTest REQUIRED)                                     # GTest::gtest_main GTest::gmock
endif()
if(TP_BUILD_BENCH)
  find_package(benchmark REQUIRED)                                 # benchmark::benchmark_main
endif()
pkg_check_modules(XXHASH   REQUIRED IMPORTED_TARGET libxxhash)     # PkgConfig::XXHASH
find_package(ZLIB REQUIRED)                                        # ZLIB::ZLIB
pkg_check_modules(ZSTD     REQUIRED IMPORTED_TARGET libzstd)       # PkgConfig::ZSTD (event chunks)
pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)      # PkgConfig::JEMALLOC (the binary's allocator)
if(TP_WITH_POSTGRES)
  pkg_check_modules(PQ     REQUIRED IMPORTED_TARGET libpq)         # PkgConfig::PQ (store/postgres)
endif()
