#include <touchpoint/ml/erlang.h>

#include <cmath>
#include <limits>

namespace touchpoint::ml {

double ErlangB(std::int64_t servers, double traffic) {
  if (traffic <= 0) return servers <= 0 ? 1.0 : 0.0;
  double b = 1.0;
  for (std::int64_t k = 1; k <= servers; ++k) {
    double ab = traffic * b;
    b = ab / (static_cast<double>(k) + ab);
  }
  return b;
}

double ErlangCFromB(std::int64_t servers, double traffic, double erlang_b) {
  double n = static_cast<double>(servers);
  if (n <= traffic) return 1.0;
  if (traffic <= 0) return 0.0;
  return n * erlang_b / (n - traffic * (1.0 - erlang_b));
}

double ErlangC(std::int64_t servers, double traffic) {
  return ErlangCFromB(servers, traffic, ErlangB(servers, traffic));
}

double ServiceLevel(std::int64_t servers, double traffic, double aht_seconds,
                    double wait_seconds) {
  double n = static_cast<double>(servers);
  if (n <= traffic) return 0.0;
  double c = ErlangC(servers, traffic);
  return 1.0 - c * std::exp(-(n - traffic) * wait_seconds / aht_seconds);
}

double AverageSpeedOfAnswer(std::int64_t servers, double traffic, double aht_seconds) {
  double n = static_cast<double>(servers);
  if (n <= traffic) return std::numeric_limits<double>::infinity();
  return ErlangC(servers, traffic) * aht_seconds / (n - traffic);
}

}  // namespace touchpoint::ml
