#include "core/line_reader.h"

#include <isa-l/igzip_lib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/errors.h"

namespace rslicer {

namespace {
constexpr size_t kChunk = 1 << 18;
}

// ISA-L inflate state with its compressed input buffer.
struct LineReader::Inflater {
  inflate_state state{};
  std::string in = std::string(kChunk, '\0');
  bool input_eof = false;
  bool member_done = false;  // the current gzip member ended; another may follow
};

bool is_gzip_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char magic[2] = {0, 0};
  const size_t n = std::fread(magic, 1, 2, f);
  std::fclose(f);
  return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

LineReader::LineReader(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) throw IoError(cat(path, ": cannot open: ", std::strerror(errno)));
  unsigned char magic[2] = {0, 0};
  const size_t n = std::fread(magic, 1, 2, file_);
  std::rewind(file_);
  compressed_ = n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (compressed_) {
    inflater_ = std::make_unique<Inflater>();
    isal_inflate_init(&inflater_->state);
    inflater_->state.crc_flag = ISAL_GZIP;
    inflater_->state.avail_in = 0;
  }
  buf_.resize(kChunk);
}

LineReader::~LineReader() {
  if (file_) std::fclose(file_);
}

size_t LineReader::read_raw(char* dst, size_t n) {
  const size_t got = std::fread(dst, 1, n, file_);
  if (got < n && std::ferror(file_))
    throw IoError(cat(path_, ": read error after line ", line_no_, ": ", std::strerror(errno)));
  return got;
}

size_t LineReader::inflate_some() {
  Inflater& z = *inflater_;
  inflate_state& st = z.state;
  st.next_out = reinterpret_cast<std::uint8_t*>(buf_.data());
  st.avail_out = static_cast<std::uint32_t>(buf_.size());
  while (st.avail_out == buf_.size()) {
    if (st.avail_in == 0 && !z.input_eof) {
      const size_t n = read_raw(z.in.data(), z.in.size());
      z.input_eof = n == 0;
      st.next_in = reinterpret_cast<std::uint8_t*>(z.in.data());
      st.avail_in = static_cast<std::uint32_t>(n);
    }
    if (z.member_done) {
      if (st.avail_in == 0) return 0;  // no further member: the end of the data
      isal_inflate_reset(&st);       // concatenated gzip member (gzip -c a b > c)
      st.crc_flag = ISAL_GZIP;
      z.member_done = false;
    }
    const int rc = isal_inflate(&st);
    if (rc < 0 && rc != ISAL_INCORRECT_CHECKSUM)
      throw IoError(cat(path_, ": corrupt gzip data after line ", line_no_, " (igzip error ", rc, ")"));
    if (rc == ISAL_INCORRECT_CHECKSUM)
      throw IoError(cat(path_, ": gzip checksum mismatch after line ", line_no_, " (corrupt file)"));
    if (st.block_state == ISAL_BLOCK_FINISH) {
      z.member_done = true;
      continue;
    }
    if (st.avail_in == 0 && z.input_eof && st.avail_out == buf_.size())
      throw IoError(cat(path_, ": truncated or corrupt gzip data after line ", line_no_));
  }
  return buf_.size() - st.avail_out;
}

bool LineReader::fill() {
  if (eof_) return false;
  const size_t n = compressed_ ? inflate_some() : read_raw(buf_.data(), buf_.size());
  if (n == 0) {
    eof_ = true;
    return false;
  }
  bytes_read_ += static_cast<std::int64_t>(n);
  begin_ = 0;
  end_ = n;
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
