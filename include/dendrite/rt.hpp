// SPDX-License-Identifier: MIT
/// @file
/// The real-time side: the block contract every streaming block satisfies (rt/contract.hpp),
/// block processing in the hosts' layouts (rt/process.hpp) and opt-in flush-to-zero for
/// real-time threads (rt/denormals.hpp).
#pragma once

#include <dendrite/rt/contract.hpp>
#include <dendrite/rt/denormals.hpp>
#include <dendrite/rt/process.hpp>
