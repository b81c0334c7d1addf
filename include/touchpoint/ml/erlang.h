// ml/erlang.h — Erlang B and Erlang C queueing formulas (M/M/c), numerically stable for
// thousands of servers: Erlang B by the recursion B(k) = a·B(k−1) / (k + a·B(k−1)), which
// never overflows, and Erlang C derived from it. Pure functions, thread-safe.
#pragma once

#include <cstdint>

namespace touchpoint::ml {

// Blocking probability of an M/M/n/n system offered `traffic` Erlangs. REQUIRES: traffic ≥ 0.
double ErlangB(std::int64_t servers, double traffic);

// Probability that an arriving call waits in an M/M/n queue; 1 when servers ≤ traffic (the
// queue is unstable). REQUIRES: traffic ≥ 0.
double ErlangC(std::int64_t servers, double traffic);

// Erlang C from a known Erlang B value for the same servers and traffic.
double ErlangCFromB(std::int64_t servers, double traffic, double erlang_b);

// Fraction of calls answered within `wait_seconds`: 1 − C·exp(−(n − a)·t / aht).
// 0 when servers ≤ traffic.
double ServiceLevel(std::int64_t servers, double traffic, double aht_seconds,
                    double wait_seconds);

// Average speed of answer in seconds: C·aht / (n − a); +inf when servers ≤ traffic.
double AverageSpeedOfAnswer(std::int64_t servers, double traffic, double aht_seconds);

}  // namespace touchpoint::ml
