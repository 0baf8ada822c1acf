// Format facts the writers rely on, for callers that prepare records for a
// given format (the simulator picks nezha KPI names from here).
#pragma once

#include <string>
#include <vector>

namespace rslicer {

// The 19 KPI columns of a nezha per-pod metric file, in file order
// ("CpuUsage(m)" ... "NodeNetworkReceiveBytes"). write_dataset(..., "nezha")
// writes these columns for every pod, then any other KPI of that pod as an
// extra column (the nezha reader takes every column after PodName as a KPI).
const std::vector<std::string>& nezha_pod_kpis();

}  // namespace rslicer
