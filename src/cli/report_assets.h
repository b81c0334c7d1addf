// cli/report_assets.h — what the HTML reports of `touchpoint report …` embed (kpi_commands.cc).
#pragma once

#include <string>

#include <touchpoint/core/result.h>

namespace touchpoint::cli {

// The ECharts library embedded in HTML reports: `given` (--echarts), else web/node_modules of the
// source tree this binary was built from (scripts/setup.sh installs it). kNotFound saying so.
Result<std::string> ReadEcharts(const std::string& given);

}  // namespace touchpoint::cli
