// Files the CLI reads on behalf of its flags: the bundled sample dataset when --data is omitted, token files.
#pragma once

#include <string>

namespace rslicer::cli {

// $RSLICER_DATA if set and not empty; else data/trainticket-sample/ of the repository the
// binary was built from (found by walking up from the executable), else the
// same path relative to the current directory. Throws InvalidInput naming
// the places it looked when none exists.
std::string default_data_path();

// Whether $RSLICER_DATA names the data (set and not empty): default_data_path() returns it then, not the sample.
bool data_from_environment();

// The bearer token in a --token-file (surrounding whitespace trimmed). IoError when the file cannot be read,
// InvalidInput when it holds no token.
std::string read_token_file(const std::string& path);

}  // namespace rslicer::cli
