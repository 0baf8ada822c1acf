// Shared helpers for the test binaries.
#pragma once

#include <string>

namespace rslicer::testing {

std::string source_dir();   // the repository root
std::string shared_dir();   // ../shared beside the repository (may not exist)
std::string binary_dir();   // the CMake build folder
std::string trainticket_dir();  // shared_dir()/data/trainticket
bool exists(const std::string& path);

// A fresh empty folder under the system temp dir, removed with everything in it when the test process exits
// (RSLICER_KEEP_TEST_DIRS=1 keeps it for inspection).
std::string make_temp_dir(const std::string& prefix);
void write_file(const std::string& path, const std::string& content);
// Writes `content` gzip-compressed.
void write_gzip_file(const std::string& path, const std::string& content);
// Runs a shell command and returns its stdout; sets *exit_code when given.
std::string run_command(const std::string& command, int* exit_code = nullptr);

// Headless Chromium (Debian's /usr/bin/chromium, flags that keep it off the
// network). A screenshot of a local HTML file and the fraction of its image
// bytes that are neither 0 nor 255 (a blank page scores about 0); -1 when no
// PNG came out. The DOM after load as text (`html_path` may also be an http:// URL: its scripts then get
// five seconds of virtual time).
double chromium_screenshot_busy_fraction(const std::string& html_path, const std::string& png_path);
std::string chromium_dump_dom(const std::string& html_path);

}  // namespace rslicer::testing
