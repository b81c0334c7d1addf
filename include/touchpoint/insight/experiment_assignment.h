// insight/experiment_assignment.h — deterministic assignment of units (customers or tickets) to
// the arms of an experiment: a keyed hash of the unit under the experiment's salt, so the same
// unit always gets the same variant on every node and after every restart, without storing the
// assignment first (exposures are logged, assignments are recomputed).
//
// The hash is keyed BLAKE2b (libsodium's crypto_generichash, the key derived from the salt), so
// nobody without the salt can predict or steer which variant an identifier lands in. Two
// independent 64-bit draws per unit: one decides whether the unit is in the experiment
// (coverage), the other its variant — raising coverage later adds units without moving any
// unit that was already in.
//
// Pure; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace touchpoint::insight {

// The index of the unit's variant for `weights` (ratios, any scale; all > 0), or nullopt when
// the unit falls outside `coverage` (0 < coverage ≤ 1). REQUIRES: !weights.empty().
std::optional<size_t> AssignVariant(std::string_view salt, std::string_view unit, std::span<const double> weights,
                                    double coverage = 1.0);

}  // namespace touchpoint::insight
