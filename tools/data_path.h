// Where the CLI finds the bundled sample dataset when --data is omitted.
#pragma once

#include <string>

namespace rslicer::cli {

// $RSLICER_DATA if set; else data/trainticket-sample/ of the repository the
// binary was built from (found by walking up from the executable), else the
// same path relative to the current directory. Throws InvalidInput naming
// the places it looked when none exists.
std::string default_data_path();

}  // namespace rslicer::cli
