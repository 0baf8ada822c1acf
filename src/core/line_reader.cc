#include "core/line_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/errors.h"

namespace rslicer {

namespace {
constexpr size_t kChunk = 1 << 18;
}

bool is_gzip_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char magic[2] = {0, 0};
  const size_t n = std::fread(magic, 1, 2, f);
  std::fclose(f);
  return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

LineReader::LineReader(const std::string& path) : path_(path) {
  std::FILE* probe = std::fopen(path.c_str(), "rb");
  if (!probe) throw IoError(cat(path, ": cannot open: ", std::strerror(errno)));
  std::fclose(probe);
  compressed_ = is_gzip_file(path);
  gzFile gz = gzopen(path.c_str(), "rb");  // reads plain files transparently
  if (!gz) throw IoError(cat(path, ": cannot open"));
  gzbuffer(gz, kChunk);
  gz_ = gz;
  buf_.resize(kChunk);
}

LineReader::~LineReader() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

bool LineReader::fill() {
  if (eof_) return false;
  const int n = gzread(static_cast<gzFile>(gz_), buf_.data(), static_cast<unsigned>(buf_.size()));
  if (n < 0) {
    int errnum = 0;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &errnum);
    throw IoError(cat(path_, ": read error after line ", line_no_, ": ", msg));
  }
  if (n == 0) {
    int errnum = 0;
    gzerror(static_cast<gzFile>(gz_), &errnum);
    if (errnum == Z_BUF_ERROR || errnum == Z_DATA_ERROR)
      throw IoError(cat(path_, ": truncated or corrupt gzip data after line ", line_no_));
    eof_ = true;
    return false;
  }
  bytes_read_ += n;
  begin_ = 0;
  end_ = static_cast<size_t>(n);
  return true;
}

bool LineReader::next(std::string_view& line) {
  carry_.clear();
  bool have_carry = false;
  for (;;) {
    if (begin_ < end_) {
      const char* start = buf_.data() + begin_;
      const void* nl = std::memchr(start, '\n', end_ - begin_);
      if (nl) {
        const size_t len = static_cast<const char*>(nl) - start;
        begin_ += len + 1;
        ++line_no_;
        if (have_carry) {
          carry_.append(start, len);
          line = carry_;
        } else {
          line = std::string_view(start, len);
        }
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return true;
      }
      carry_.append(start, end_ - begin_);
      have_carry = true;
      begin_ = end_;
    }
    if (!fill()) {
      if (have_carry && !carry_.empty()) {
        ++line_no_;
        line = carry_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return true;
      }
      return false;
    }
  }
}

std::string read_text_file(const std::string& path) {
  LineReader reader(path);
  std::string out;
  std::string_view line;
  while (reader.next(line)) {
    out.append(line);
    out.push_back('\n');
  }
  return out;
}

}  // namespace rslicer
