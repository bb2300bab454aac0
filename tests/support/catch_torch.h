#pragma once
// Catch2 for tests that use LibTorch: include this instead of <catch2/catch.hpp>.
//
// c10's logging (glog's macros in Debian's build) defines CHECK, which replaces Catch's CHECK when a
// LibTorch header comes after catch.hpp: a failing CHECK would then abort the process instead of
// being reported, and passing ones would not be counted. c10's logging header is included once, so
// loading it first and restoring Catch's CHECK afterwards is enough for the whole file.
#include <c10/util/Logging.h>

#include <catch2/catch.hpp>

#undef CHECK
#define CHECK(...) INTERNAL_CATCH_TEST("CHECK", Catch::ResultDisposition::ContinueOnFailure, __VA_ARGS__)
