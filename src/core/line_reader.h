// Reads a text file line by line, plain or gzip-compressed (detected by the
// gzip magic bytes, not the file name; concatenated gzip members are read
// one after another). Lines are returned without the trailing "\n" or
// "\r\n"; the view stays valid until the next call. Inflation uses ISA-L
// (igzip), 2.4x faster than zlib on the TrainTicket files
// (docs/performance.md).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace rslicer {

class LineReader {
 public:
  // Throws IoError when the file cannot be opened.
  explicit LineReader(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Next line, or false at end of file. Throws IoError on a read error or a
  // truncated gzip stream.
  bool next(std::string_view& line);

  std::int64_t line_number() const { return line_no_; }  // 1-based, of the last line returned
  const std::string& path() const { return path_; }
  bool compressed() const { return compressed_; }
  std::int64_t bytes_read() const { return bytes_read_; }  // uncompressed

 private:
  bool fill();
  size_t read_raw(char* dst, size_t n);  // compressed or plain bytes from the file
  size_t inflate_some();                 // decompresses into buf_, 0 at the end of the data

  struct Inflater;
  std::string path_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<Inflater> inflater_;  // null for plain files
  bool compressed_ = false;
  bool eof_ = false;
  std::string buf_;
  size_t begin_ = 0;  // start of unread data in buf_
  size_t end_ = 0;    // end of valid data in buf_
  std::string carry_;
  std::int64_t line_no_ = 0;
  std::int64_t bytes_read_ = 0;
};

// True when the file starts with the gzip magic bytes.
bool is_gzip_file(const std::string& path);

// Whole file (decompressed when gzip) into a string. Throws IoError.
std::string read_text_file(const std::string& path);

}  // namespace rslicer
