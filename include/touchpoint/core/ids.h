// core/ids.h — strong id types: mixing a CustomerId with a TicketId fails to compile.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace touchpoint {

template <typename Tag>
class StrongId {
 public:
  constexpr StrongId() = default;
  constexpr explicit StrongId(std::int64_t v) : value_(v) {}
  constexpr std::int64_t value() const { return value_; }
  constexpr bool valid() const { return value_ > 0; }
  friend constexpr auto operator<=>(StrongId, StrongId) = default;

 private:
  std::int64_t value_ = 0;
};

struct CustomerIdTag {};
struct IdentifierIdTag {};
struct MergeIdTag {};
using CustomerId = StrongId<CustomerIdTag>;
using IdentifierId = StrongId<IdentifierIdTag>;
using MergeId = StrongId<MergeIdTag>;

}  // namespace touchpoint

template <typename Tag>
struct std::hash<touchpoint::StrongId<Tag>> {
  size_t operator()(touchpoint::StrongId<Tag> id) const noexcept {
    return std::hash<std::int64_t>()(id.value());
  }
};
